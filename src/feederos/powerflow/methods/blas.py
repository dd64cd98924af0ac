"""Keep BLAS to one thread inside the solvers.

The solvers' dense products are small (a few thousand entries); a threaded BLAS gains
nothing on them, and when another process holds the other core its worker threads wait
for it — measured on this project's 2-core machine as milliseconds lost on a product
that takes microseconds. Entering the limit costs
about 6 µs.

Examples
--------
>>> import numpy as np
>>> with single_threaded_blas():
...     float(np.ones(3) @ np.ones(3))
3.0
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded_blas"]

_controller: ThreadpoolController | None = None
_lock = threading.Lock()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit every loaded BLAS to one thread for the ``with`` block."""
    global _controller
    with _lock:
        if _controller is None:  # made on first use, once NumPy and SciPy are loaded
            _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
