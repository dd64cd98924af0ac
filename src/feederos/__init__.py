"""feederos: software-defined electricity distribution.

The public entry points are re-exported here; nothing runs at import time.
"""

from __future__ import annotations

from feederos.errors import FeederosError

__all__ = ["FeederosError", "__version__"]
__version__ = "0.1.0"
