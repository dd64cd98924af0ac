"""Load an app class from its source folder by its manifest entrypoint (``module:Class``).

Each load gets a private module name, so two versions of one app can be loaded in the
same process (an upgrade on the twin, tests) without one shadowing the other.

Examples
--------
>>> import tempfile, pathlib
>>> src = pathlib.Path(tempfile.mkdtemp())
>>> _ = (src / "hello.py").write_text(
...     "from feederos.runtime.app import App\\nclass Hello(App):\\n    pass\\n")
>>> load_app_class(src, "hello:Hello").__name__
'Hello'
>>> load_app_class(src, "hello:Nope")
Traceback (most recent call last):
...
feederos.errors.BundleError: entrypoint 'hello:Nope': module hello has no attribute Nope
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path

from feederos.errors import BundleError
from feederos.runtime.app import App

__all__ = ["check_entrypoint", "load_app_class"]

_ENTRYPOINT = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)")


def check_entrypoint(entrypoint: str) -> tuple[str, str]:
    """Split ``module:Class`` into its parts; raise :class:`BundleError` if malformed."""
    match = _ENTRYPOINT.fullmatch(entrypoint)
    if match is None:
        raise BundleError(
            f"entrypoint {entrypoint!r} is malformed: "
            "write 'module:Class', e.g. 'volt_watt:VoltWatt'"
        )
    return match.group(1), match.group(2)


def load_app_class(source_dir: Path, entrypoint: str) -> type[App]:
    """Import ``entrypoint`` from ``source_dir`` and return the :class:`App` subclass it names."""
    module_name, class_name = check_entrypoint(entrypoint)
    parts = module_name.split(".")
    base = Path(source_dir).resolve()
    package_dir = base.joinpath(*parts)
    if (package_dir / "__init__.py").is_file():
        path, search = package_dir / "__init__.py", [str(package_dir)]
    elif package_dir.with_suffix(".py").is_file():
        path, search = package_dir.with_suffix(".py"), None
    else:
        raise BundleError(f"entrypoint {entrypoint!r}: no module {module_name} in {base}")
    tag = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    private_name = f"_fos_app_{tag}_{module_name.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(
        private_name, path, submodule_search_locations=search
    )
    if spec is None or spec.loader is None:
        raise BundleError(f"entrypoint {entrypoint!r}: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[private_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[private_name]
        raise BundleError(f"entrypoint {entrypoint!r}: importing {path} failed: {exc!r}") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise BundleError(
            f"entrypoint {entrypoint!r}: module {module_name} has no attribute {class_name}"
        )
    if not (isinstance(cls, type) and issubclass(cls, App)):
        raise BundleError(
            f"entrypoint {entrypoint!r}: {class_name} is not a feederos.runtime.App subclass"
        )
    return cls
