"""Structured JSON logs (structlog), one JSON object per line.

No global logging configuration is touched: each logger renders on its own.

Examples
--------
>>> import io, json
>>> out = io.StringIO()
>>> json_logger(out, app="volt-watt").info("started", version="1.0.0")
>>> record = json.loads(out.getvalue())
>>> record["event"], record["app"], record["level"]
('started', 'volt-watt', 'info')
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import structlog

__all__ = ["json_logger"]


def json_logger(stream: TextIO | None = None, **context: Any) -> Any:
    """A structlog logger writing JSON lines to ``stream`` (stderr), bound to ``context``."""
    logger = structlog.wrap_logger(
        structlog.PrintLogger(stream if stream is not None else sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        cache_logger_on_first_use=False,
    )
    return logger.bind(**context)
