"""The OpenDSS script layer: ``.dss`` text to an ordered store of raw objects.

This module runs the *commands* of an OpenDSS script (``New``, ``Edit``, ``~``,
``Redirect``, ``Compile``, ``Set``, ``BatchEdit``, ``Clear``, ``BusCoords``, ...) the way
OpenDSS does, but instead of building circuit elements it records, per object, the
ordered list of property assignments with canonical property names and the raw value
text. Interpreting the values (numbers, arrays, matrices, units) is left to the helpers
in :mod:`feederos.io.opendss._values` and to the converter to the network model.

Property names resolve as in OpenDSS: an exact name, else the first name in OpenDSS's
property order that starts with the abbreviation, else (positional parameters) the
property after the previous one. Order is kept, so winding-scoped transformer
properties (``wdg=1 bus=... kv=...``) can be interpreted later.

Examples
--------
>>> script = parse_script('''
... New Circuit.demo basekv=12.47
... New Line.l1 src b2 length=(1 2 /) units=kft  ! positional bus1 bus2
... ~ phases=1
... ''')
>>> script.circuit_name, list(script.objects)
('demo', [('vsource', 'source'), ('line', 'l1')])
>>> script.objects["line", "l1"].get("bus2"), script.objects["line", "l1"].get("length")
('b2', '1 2 /')
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from feederos.errors import DssSyntaxError
from feederos.io.opendss._confine import outside_root
from feederos.io.opendss._lexer import LexError, Param, split_params
from feederos.io.opendss._properties import (
    default_objects,
    is_known_class,
    option_at,
    positional_property,
    property_index,
    resolve_command,
    resolve_option,
    resolve_property,
)
from feederos.io.opendss._rpn import parse_number
from feederos.io.opendss._values import as_float_array

__all__ = [
    "DssObject",
    "DssProperty",
    "DssScript",
    "SourceLocation",
    "parse_script",
    "read_script",
]

#: Redirect/Compile nesting deeper than this is taken to be a loop.
MAX_REDIRECT_DEPTH = 32


@dataclass(frozen=True)
class SourceLocation:
    """Where a command was read: a file name and a 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class DssProperty:
    """One property assignment of an OpenDSS object.

    Attributes
    ----------
    name
        Canonical lower-case OpenDSS property name (``'#3'`` for a positional parameter
        past the end of the class's list or of an unknown class).
    value
        The token text with its enclosing ``"" '' () [] {}`` removed.
    where
        The line the assignment was read from.
    quote
        The opening delimiter the value had (``'('`` for ``(8 1000 /)``), or ``''``.
    base_dir
        The directory relative file names in the value resolve against (the directory
        of the script being run when the line was read).
    """

    name: str
    value: str
    where: SourceLocation
    quote: str = ""
    base_dir: str = ""


@dataclass
class DssObject:
    """An OpenDSS object and its property assignments in the order they were made."""

    cls: str
    name: str
    properties: list[DssProperty]
    where: SourceLocation

    def get(self, name: str) -> str | None:
        """Return the value last assigned to canonical property ``name``, or None.

        Examples
        --------
        >>> where = SourceLocation("x.dss", 1)
        >>> obj = DssObject("load", "a", [DssProperty("kw", "1", where),
        ...                               DssProperty("kw", "2", where)], where)
        >>> obj.get("kW"), obj.get("kvar")
        ('2', None)
        """
        prop = self.get_property(name)
        return None if prop is None else prop.value

    def get_property(self, name: str) -> DssProperty | None:
        """Return the last assignment of canonical property ``name``, or None."""
        name = name.lower()
        for prop in reversed(self.properties):
            if prop.name == name:
                return prop
        return None


@dataclass
class DssScript:
    """Everything a script defined, in definition order.

    Attributes
    ----------
    objects
        ``(class, name) -> DssObject`` in insertion (definition) order, lower case.
    circuit_name
        The name given in ``New Circuit.<name>``, lower case.
    options
        ``Set`` options by canonical lower-case name; the last assignment wins.
    voltage_bases_kv
        ``Set voltagebases=[...]`` [kV].
    calc_voltage_bases
        Whether ``CalcVoltageBases`` was run.
    bus_coords
        Lower-case bus name -> ``(x, y)`` from ``BusCoords``/``LatLongCoords``.
    ignored_commands
        Commands not modelled here (``Show``, ``Plot``, a ``Solve`` outside snapshot
        mode, ...) and where.
    snapshot_solved
        Whether a ``Solve`` ran in snapshot mode: OpenDSS carries the control state it
        leaves (regulator taps, capacitor steps) into a time series solved after it.
    warnings
        Things OpenDSS would report or silently do differently, one line each.
    files_read
        Every script and coordinate file read, in order.
    """

    objects: dict[tuple[str, str], DssObject] = field(default_factory=dict)
    circuit_name: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    voltage_bases_kv: list[float] = field(default_factory=list)
    calc_voltage_bases: bool = False
    bus_coords: dict[str, tuple[float, float]] = field(default_factory=dict)
    ignored_commands: list[tuple[str, SourceLocation]] = field(default_factory=list)
    snapshot_solved: bool = False
    warnings: list[str] = field(default_factory=list)
    files_read: list[str] = field(default_factory=list)

    def of_class(self, cls: str) -> list[DssObject]:
        """Return the objects of class ``cls`` in definition order.

        Examples
        --------
        >>> s = parse_script("New Circuit.c\\nNew Load.a\\nNew Load.b")
        >>> [o.name for o in s.of_class("Load")]
        ['a', 'b']
        """
        cls = cls.lower()
        return [obj for (c, _), obj in self.objects.items() if c == cls]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


class _Runner:
    """Runs script lines against a :class:`DssScript` (one per parse)."""

    def __init__(self, base_dir: Path) -> None:
        self.script = DssScript()
        self.cwd = base_dir
        self.active: DssObject | None = None
        self.last_class: str | None = None
        self.depth = 0
        self.warned_classes: set[str] = set()
        self.commands: dict[str, Callable[[list[Param], SourceLocation], None]] = {
            "new": self._new,
            "edit": self._edit,
            "more": self._more,
            "m": self._more,
            "~": self._more,
            "select": self._select,
            "set": self._set,
            "solve": self._solve,
            "calcvoltagebases": self._calcv,
            "redirect": lambda p, w: self._redirect(p, w, compile_=False),
            "compile": lambda p, w: self._redirect(p, w, compile_=True),
            "clear": self._clear,
            "clearall": self._clear,
            "buscoords": lambda p, w: self._coords(p, w, lat_long=False),
            "latlongcoords": lambda p, w: self._coords(p, w, lat_long=True),
            "open": lambda p, w: self._open_close(p, w, "__open__"),
            "close": lambda p, w: self._open_close(p, w, "__close__"),
            "batchedit": self._batchedit,
            "enable": lambda p, w: self._enable(p, w, "true"),
            "disable": lambda p, w: self._enable(p, w, "false"),
        }

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def error(message: str, where: SourceLocation) -> DssSyntaxError:
        return DssSyntaxError(message, file=where.file, line=where.line)

    def warn(self, message: str, where: SourceLocation | None = None) -> None:
        self.script.warnings.append(f"{where}: {message}" if where else message)

    def resolve_path(self, text: str, where: SourceLocation, what: str) -> Path:
        if not text.strip():
            raise self.error(f"{what} needs a file name", where)
        candidates = [Path(text)]
        if "\\" in text:
            candidates.append(Path(text.replace("\\", "/")))
        for candidate in candidates:
            path = candidate if candidate.is_absolute() else self.cwd / candidate
            path = Path(os.path.normpath(path))
            if outside_root(path):
                raise self.error(
                    f"{what}: {text!r} is outside the folder of the uploaded files; "
                    "name files inside it, by relative paths",
                    where,
                )
            if _is_file(path):
                return path
        raise self.error(f"{what}: file not found: {text!r} (looked in {self.cwd})", where)

    def read(self, path: Path, where: SourceLocation) -> str:
        try:
            text = _read_text(path)
        except (OSError, ValueError) as exc:
            raise self.error(f"cannot read {path}: {exc}", where) from None
        self.script.files_read.append(str(path))
        return text

    def parse_ref(self, text: str, where: SourceLocation) -> tuple[str, str]:
        """Split ``Class.name`` (or ``name`` in the last class used) into lower case."""
        text = text.strip(" \t\r")
        cls_text, dot, name = text.partition(".")
        if dot:
            cls = cls_text.lower()
        elif self.last_class is not None:
            cls, name = self.last_class, text
        else:
            raise self.error(f"expected Class.name, got {text!r}", where)
        if not cls or not name:
            raise self.error(f"expected Class.name, got {text!r}", where)
        if cls != "circuit" and not is_known_class(cls) and cls not in self.warned_classes:
            self.warned_classes.add(cls)
            self.warn(f"unknown OpenDSS class {cls!r}: property names kept as written", where)
        return cls, name.lower()

    def find(self, cls: str, name: str, where: SourceLocation, what: str) -> DssObject:
        obj = self.script.objects.get((cls, name))
        if obj is None and name in default_objects(cls):
            obj = DssObject(cls, name, [], where)  # one OpenDSS creates on Clear
            self.script.objects[cls, name] = obj
        if obj is None:
            raise self.error(f"{what}: object {cls}.{name} does not exist", where)
        return obj

    def target(self, params: list[Param], where: SourceLocation, what: str) -> tuple[str, str]:
        if not params or params[0].name.lower() not in ("", "object", "element"):
            raise self.error(f"{what} needs an object, as in '{what} Class.name ...'", where)
        return self.parse_ref(params[0].value, where)

    # ---------------------------------------------------------------- properties
    def apply(self, obj: DssObject, params: list[Param], where: SourceLocation) -> None:
        """Append ``params`` as property assignments of ``obj``, as OpenDSS's Edit."""
        known = is_known_class(obj.cls)
        base_dir = str(self.cwd)
        pointer = 0
        for param in params:
            if param.name:
                canon = resolve_property(obj.cls, param.name) if known else None
                if canon is None:
                    canon = param.name.lower()
                    if known:
                        self.warn(f"unknown property {param.name!r} of {obj.cls}", where)
                else:
                    pointer = property_index(obj.cls, canon)
            else:
                pointer += 1
                canon = positional_property(obj.cls, pointer) if known else None
                if canon is None:
                    canon = f"#{pointer}"
                    if known:
                        self.warn(
                            f"positional value {param.value!r} past the last property of {obj.cls}",
                            where,
                        )
            if not param.value:
                self.warn(
                    f"empty value for {canon!r} of {obj.cls}.{obj.name}: the rest of "
                    "the command is ignored, as in OpenDSS",
                    where,
                )
                return
            if canon == "like":
                self.like(obj, param.value, where)
                continue
            obj.properties.append(DssProperty(canon, param.value, where, param.quote, base_dir))

    def like(self, obj: DssObject, other_name: str, where: SourceLocation) -> None:
        other = self.find(obj.cls, other_name.strip().lower(), where, "Like")
        if other is not obj:
            obj.properties.extend(replace(p) for p in list(other.properties))

    # ------------------------------------------------------------------ commands
    def _new(self, params: list[Param], where: SourceLocation) -> None:
        cls, name = self.target(params, where, "New")
        script = self.script
        if cls == "circuit":
            if script.circuit_name is not None:
                self.warn(f"a second circuit {name!r} redefines the source", where)
            script.circuit_name = name
            cls, name = "vsource", "source"
        obj = script.objects.get((cls, name))
        if obj is None:
            obj = DssObject(cls, name, [], where)
            script.objects[cls, name] = obj
        elif name not in default_objects(cls) and (cls, name) != ("vsource", "source"):
            self.warn(f"duplicate New {cls}.{name}: OpenDSS edits the existing object", where)
        self.active, self.last_class = obj, cls
        self.apply(obj, params[1:], where)

    def _edit(self, params: list[Param], where: SourceLocation) -> None:
        cls, name = self.target(params, where, "Edit")
        obj = self.find(cls, name, where, "Edit")
        self.active, self.last_class = obj, cls
        self.apply(obj, params[1:], where)

    def _more(self, params: list[Param], where: SourceLocation) -> None:
        if self.active is None:
            raise self.error("'~'/More with no object defined before it", where)
        self.apply(self.active, params, where)

    def _select(self, params: list[Param], where: SourceLocation) -> None:
        cls, name = self.target(params, where, "Select")
        self.active, self.last_class = self.find(cls, name, where, "Select"), cls

    def _property_command(self, first: Param, rest: list[Param], where: SourceLocation) -> None:
        """``Class.name.prop=value ...`` (or ``prop=value`` on the active object)."""
        full = first.name
        obj_name, dot, prop = full.partition(".")
        if dot:
            name_part, dot2, prop2 = prop.partition(".")
            if dot2:
                obj_name, prop = f"{obj_name}.{name_part}", prop2
        else:
            obj_name, prop = "", full
        if obj_name:
            cls, name = self.parse_ref(obj_name, where)
            obj = self.find(cls, name, where, "property assignment")
            self.last_class = cls
        elif self.active is not None:
            obj = self.active
        else:
            raise self.error(f"unknown command or no active object for {full!r}", where)
        self.active = obj
        self.apply(obj, [Param(prop, first.value, first.quote), *rest], where)

    def _solve(self, params: list[Param], where: SourceLocation) -> None:
        mode = self.script.options.get("mode", "snapshot").strip().lower()
        if mode.startswith("s") and not params:
            self.script.snapshot_solved = True
        else:  # a time series or a solve with options: the caller runs what it wants
            self.script.ignored_commands.append(("solve", where))

    def _set(self, params: list[Param], where: SourceLocation) -> None:
        pointer = 0
        for param in params:
            if param.name:
                key = resolve_option(param.name)
                if key is None:
                    key = param.name.lower()
                    self.warn(f"unknown Set option {param.name!r}", where)
                else:
                    pointer = _option_index(key)
            else:
                pointer += 1
                key = option_at(pointer) or f"#{pointer}"
            self.script.options[key] = param.value
            if key == "voltagebases":
                prop = DssProperty(key, param.value, where, param.quote, str(self.cwd))
                self.script.voltage_bases_kv = as_float_array(prop)

    def _calcv(self, params: list[Param], where: SourceLocation) -> None:
        del params, where
        self.script.calc_voltage_bases = True

    def _redirect(self, params: list[Param], where: SourceLocation, *, compile_: bool) -> None:
        what = "Compile" if compile_ else "Redirect"
        path = self.resolve_path(params[0].value if params else "", where, what)
        if self.depth >= MAX_REDIRECT_DEPTH:
            raise self.error(f"{what} nested more than {MAX_REDIRECT_DEPTH} deep", where)
        text = self.read(path, where)
        saved = self.cwd
        self.cwd = path.parent
        self.depth += 1
        try:
            self.run(text, str(path))
        finally:
            self.depth -= 1
        if not compile_:  # Compile leaves OpenDSS in the compiled file's directory
            self.cwd = saved

    def _clear(self, params: list[Param], where: SourceLocation) -> None:
        del params, where
        old = self.script
        self.script = DssScript(
            ignored_commands=old.ignored_commands,
            warnings=old.warnings,
            files_read=old.files_read,
        )
        self.active = None
        self.last_class = None

    def _coords(self, params: list[Param], where: SourceLocation, *, lat_long: bool) -> None:
        what = "LatLongCoords" if lat_long else "BusCoords"
        path = self.resolve_path(params[0].value if params else "", where, what)
        text = self.read(path, where)
        coords = self.script.bus_coords
        for lineno, line in enumerate(text.split("\n"), start=1):
            here = SourceLocation(str(path), lineno)
            try:
                values = [p.value for p in split_params(line)]
            except LexError as exc:
                raise self.error(str(exc), here) from None
            if not values or not values[0]:
                continue
            numbers = [parse_number(v) for v in values[1:3]]
            if len(numbers) < 2 or numbers[0] is None or numbers[1] is None:
                raise self.error(f"expected 'bus, x, y', got {line.strip()!r}", here)
            bus = values[0].split(".", 1)[0].lower()
            first, second = numbers[0], numbers[1]
            coords[bus] = (second, first) if lat_long else (first, second)

    def _open_close(self, params: list[Param], where: SourceLocation, prop: str) -> None:
        what = "Open" if prop == "__open__" else "Close"
        cls, name = self.target(params, where, what)
        obj = self.find(cls, name, where, what)
        rest = [p.value for p in params[1:3] if p.value]
        if not rest:
            raise self.error(f"{what} {cls}.{name} needs a terminal number", where)
        obj.properties.append(DssProperty(prop, " ".join(rest), where, "", str(self.cwd)))

    def _enable(self, params: list[Param], where: SourceLocation, value: str) -> None:
        cls, name = self.target(params, where, "Enable" if value == "true" else "Disable")
        obj = self.find(cls, name, where, "Enable/Disable")
        obj.properties.append(DssProperty("enabled", value, where, "", str(self.cwd)))

    def _batchedit(self, params: list[Param], where: SourceLocation) -> None:
        if not params or params[0].name:
            raise self.error("BatchEdit needs Class.pattern", where)
        cls_text, dot, pattern = params[0].value.partition(".")
        if not dot or not cls_text:
            raise self.error(f"BatchEdit needs Class.pattern, got {params[0].value!r}", where)
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except (re.error, OverflowError, RecursionError, ValueError) as exc:
            raise self.error(f"BatchEdit: bad pattern {pattern!r}: {exc}", where) from None
        for obj in self.script.of_class(cls_text):
            if regex.search(obj.name):
                self.apply(obj, params[1:], where)

    # --------------------------------------------------------------------- lines
    def line(self, text: str, where: SourceLocation) -> None:
        try:
            params = split_params(text)
        except LexError as exc:
            raise self.error(str(exc), where) from None
        if not params:
            return
        first = params[0]
        if first.name:
            self._property_command(first, params[1:], where)
            return
        command = resolve_command(first.value)
        if command is None:
            raise self.error(f"unknown command {first.value!r}", where)
        handler = self.commands.get(command)
        if handler is None:
            self.script.ignored_commands.append((command, where))
        else:
            handler(params[1:], where)

    def run(self, text: str, filename: str) -> None:
        in_block = False
        for lineno, raw in enumerate(text.split("\n"), start=1):
            if not in_block and raw.lstrip(" \t").startswith("/*"):
                in_block = True
            if in_block:  # OpenDSS skips the whole line that closes the block, too
                if "*/" in raw:
                    in_block = False
                continue
            if raw.strip(" \t\r"):
                self.line(raw, SourceLocation(filename, lineno))


def _option_index(key: str) -> int:
    index = 1
    while (name := option_at(index)) is not None:
        if name == key:
            return index
        index += 1
    return 0


def parse_script(
    text: str, *, filename: str = "<string>", base_dir: Path | None = None
) -> DssScript:
    """Run the commands of an OpenDSS script given as text.

    Parameters
    ----------
    text
        The script.
    filename
        The name used in source locations and error messages.
    base_dir
        The directory ``Redirect``/``Compile``/``BusCoords`` and data files resolve
        against; the current working directory when None.

    Returns
    -------
    DssScript
        The objects, options, voltage bases and coordinates the script defines.

    Raises
    ------
    DssSyntaxError
        For a syntax error (unbalanced quote or bracket), ``~`` with no object before
        it, ``Edit`` of an object that does not exist, a missing ``Redirect`` file, an
        unknown command, and the like; it names the file and line.

    Examples
    --------
    >>> s = parse_script("New Circuit.c\\nNew Transformer.t XHL=(8 1000 /)\\n"
    ...                  "Set voltagebases=[115, 4.16]\\ncalcv\\nSolve")
    >>> s.objects["transformer", "t"].get("xhl"), s.voltage_bases_kv, s.calc_voltage_bases
    ('8 1000 /', [115.0, 4.16], True)
    >>> s.snapshot_solved, s.ignored_commands
    (True, [])
    """
    runner = _Runner(Path.cwd() if base_dir is None else Path(base_dir))
    runner.run(text, filename)
    return runner.script


def read_script(path: str | os.PathLike[str]) -> DssScript:
    """Read and run an OpenDSS script file (and every file it redirects to).

    Parameters
    ----------
    path
        The master ``.dss`` file. Relative file names inside it resolve against its
        directory.

    Returns
    -------
    DssScript
        The objects, options, voltage bases and coordinates the script defines.

    Raises
    ------
    DssSyntaxError
        If the file cannot be read, or for any error :func:`parse_script` raises.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "codes.dss").write_text("New LineCode.c1 nphases=1")
    ...     _ = (Path(d) / "m.dss").write_text("New Circuit.x\\nRedirect codes.dss")
    ...     sorted(read_script(Path(d) / "m.dss").objects)
    [('linecode', 'c1'), ('vsource', 'source')]
    """
    file = Path(os.path.abspath(os.fspath(path)))
    where = SourceLocation(str(file), 0)
    if not _is_file(file):
        raise DssSyntaxError("no such script file", file=str(file))
    runner = _Runner(file.parent)
    text = runner.read(file, where)
    runner.run(text, str(file))
    return runner.script
