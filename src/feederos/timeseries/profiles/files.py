"""Load shapes from CSV and Parquet files.

A file holds one multiplier per row, optionally with the hour of each point and a
reactive multiplier, the way OpenDSS reads ``mult=(file=...)`` and ``csvfile=``:

- **CSV** (``.csv``, ``.txt``): comma-, semicolon-, tab- or space-separated; blank lines
  and lines starting with ``#`` are skipped; a first row that is not all numbers is a
  header naming the columns.
- **Parquet** (``.parquet``, ``.pq``), read with pyarrow: numeric columns by name.

Which column is which:

- With a header, ``column`` (else a column called ``p_mult``, ``mult``, ``p``,
  ``multiplier`` or ``value``, else the only column left) holds the multipliers;
  ``hour_column`` (else ``hour``, ``hours``, ``time_h``) the hours; ``q_column`` (else
  ``q_mult``, ``q``) the reactive multipliers.
- Without a header, columns are taken by position as OpenDSS does: with ``interval_h``,
  ``p[, q]``; without it, one column is ``p`` (hourly), two are ``hour, p``, three are
  ``hour, p, q``. ``column``, ``hour_column`` and ``q_column`` may be 0-based positions.

Hours, when given, must increase; active multipliers must be finite and not negative
(reactive ones may be negative). Every problem raises
:class:`~feederos.errors.ProfileFileError` naming the file, line (Parquet: row) and
column.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "res.csv"
>>> _ = path.write_text("hour,p_mult\\n1,0.4\\n2,0.9\\n3,x\\n")
>>> read_load_shape(path)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.errors.ProfileFileError: ...res.csv:4: column 'p_mult': 'x' is not a number
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feederos.errors import ProfileFileError
from feederos.model import LoadShape
from feederos.timeseries.profiles._common import FloatArray

__all__ = ["read_load_shape"]

_P_NAMES = ("p_mult", "mult", "p", "pmult", "multiplier", "value")
_HOUR_NAMES = ("hour", "hours", "hour_h", "time_h")
_Q_NAMES = ("q_mult", "q", "qmult")
_CSV_SUFFIXES = (".csv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")

Column = str | int


@dataclass(frozen=True)
class _Table:
    """A file's columns before checking: labels, raw cells, where each row came from."""

    labels: list[Column]
    has_header: bool
    cells: list[list[object]]  # one list per column
    lines: list[int] | None  # CSV: the line of each row; Parquet: None (rows are 1-based)


def read_load_shape(path: str | os.PathLike[str], *, name: str | None = None,
                    column: Column | None = None, hour_column: Column | None = None,
                    q_column: Column | None = None, interval_h: float | None = None
                    ) -> LoadShape:
    """Read a :class:`~feederos.model.LoadShape` from a CSV or Parquet file.

    Parameters
    ----------
    path
        The file (``.csv``, ``.txt``, ``.parquet``, ``.pq``).
    name
        The shape's name; default the file's stem, spaces made underscores.
    column
        The multiplier column: a header name or a 0-based position.
    hour_column
        The column of hours [h]; none means evenly spaced points.
    q_column
        The reactive multiplier column.
    interval_h
        Spacing of evenly spaced points [h]; default 1 h when the file has no hours.

    Returns
    -------
    LoadShape
        Evenly spaced (``interval_h``) or at the file's ``hours``.

    Raises
    ------
    ProfileFileError
        A ``ValueError`` naming the file, line or row, and column: unknown suffix or
        column, an empty file, a value that is not a number, NaN or infinite, a negative
        multiplier, hours that do not increase, a short row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "day.csv"
    >>> _ = path.write_text("0.5\\n0.75\\n1.0\\n")
    >>> shape = read_load_shape(path, interval_h=8.0)
    >>> shape.name, shape.p_mult, shape.interval_h
    ('day', [0.5, 0.75, 1.0], 8.0)
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        table = _read_csv(file)
    elif suffix in _PARQUET_SUFFIXES:
        table = _read_parquet(file)
    else:
        known = ", ".join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)
        raise ProfileFileError(f"unknown file type {suffix!r}; give one of {known}",
                               file=str(file))
    if interval_h is not None and not (math.isfinite(interval_h) and interval_h > 0):
        raise ProfileFileError(f"interval_h={interval_h!r} must be > 0 [h]", file=str(file))
    p_at, hour_at, q_at = _columns(table, str(file), column=column, hour_column=hour_column,
                                   q_column=q_column, interval_h=interval_h)
    values = _Values(table, str(file))
    p = values.numbers(p_at, allow_negative=False)
    q = None if q_at is None else values.numbers(q_at, allow_negative=True)
    shape_name = name if name is not None else re.sub(r"\s+", "_", file.stem) or "shape"
    if hour_at is None:
        return LoadShape(name=shape_name, p_mult=p.tolist(),
                         q_mult=None if q is None else q.tolist(),
                         interval_h=1.0 if interval_h is None else interval_h)
    hours = values.numbers(hour_at, allow_negative=True)
    steps = np.flatnonzero(np.diff(hours) <= 0)
    if steps.size:
        k = int(steps[0]) + 1
        raise values.error(k, hour_at, f"hour {hours[k]:g} does not follow {hours[k - 1]:g}; "
                           "hours must increase")
    return LoadShape(name=shape_name, p_mult=p.tolist(), q_mult=None if q is None else q.tolist(),
                     hours=hours.tolist(), interval_h=None)


def _read_csv(file: Path) -> _Table:
    text = file.read_text(encoding="utf-8-sig")
    rows: list[list[str]] = []
    lines: list[int] = []
    split = _splitter(text)
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        rows.append([cell.strip() for cell in split(stripped)])
        lines.append(number)
    if not rows:
        raise ProfileFileError("no data rows; give one multiplier per line", file=str(file))
    has_header = not all(_is_number(cell) for cell in rows[0])
    labels: list[Column]
    if has_header:
        labels = list(rows[0])
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise ProfileFileError("a header but no data rows", file=str(file),
                                   line=_first_row_line(text))
    else:
        labels = list(range(len(rows[0])))
    width = len(labels)
    for row, number in zip(rows, lines, strict=True):
        if len(row) < width:
            raise ProfileFileError(f"{len(row)} value(s) where the file has {width} columns",
                                   file=str(file), line=number)
    cells: list[list[object]] = [[row[i] for row in rows] for i in range(width)]
    return _Table(labels=labels, has_header=has_header, cells=cells, lines=lines)


def _first_row_line(text: str) -> int:
    """The line of the first non-blank, non-comment row (a lone header's line)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.strip().startswith("#"):
            return number
    return 1


def _splitter(text: str) -> Callable[[str], list[str]]:
    """How the rows of ``text`` are split: by its first delimiter found, else spaces."""
    sample = next((ln for ln in text.splitlines()
                   if ln.strip() and not ln.strip().startswith("#")), "")
    delimiter = next((d for d in (",", ";", "\t") if d in sample), None)
    if delimiter is None:
        return str.split

    def split(line: str) -> list[str]:
        return next(csv.reader([line], delimiter=delimiter))

    return split


def _read_parquet(file: Path) -> _Table:
    import pyarrow.parquet as pq  # a heavy import, only when a Parquet file is read

    table = pq.read_table(file)
    if table.num_rows == 0:
        raise ProfileFileError("no data rows", file=str(file))
    labels: list[Column] = list(table.column_names)
    cells = [table.column(label).to_pylist() for label in table.column_names]
    return _Table(labels=labels, has_header=True, cells=cells, lines=None)


def _columns(table: _Table, file: str, *, column: Column | None, hour_column: Column | None,
             q_column: Column | None, interval_h: float | None
             ) -> tuple[int, int | None, int | None]:
    """Positions of the multiplier, hour and reactive columns."""

    def find(wanted: Column | None, names: Sequence[str], argument: str) -> int | None:
        if wanted is None:
            if not table.has_header:
                return None
            lowered = [str(label).lower() for label in table.labels]
            return next((lowered.index(n) for n in names if n in lowered), None)
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            if 0 <= wanted < len(table.labels):
                return wanted
        elif wanted in table.labels:
            return table.labels.index(wanted)
        known = ", ".join(repr(label) for label in table.labels)
        raise ProfileFileError(f"{argument}={wanted!r} is not a column; the file has {known}",
                               file=file)

    p_at = find(column, _P_NAMES, "column")
    hour_at = find(hour_column, _HOUR_NAMES, "hour_column")
    q_at = find(q_column, _Q_NAMES, "q_column")
    if not table.has_header:
        order = [i for i in range(len(table.labels)) if i not in (p_at, hour_at, q_at)]
        if hour_at is None and interval_h is None and len(table.labels) >= 2 and p_at is None:
            hour_at = order.pop(0)
        if p_at is None:
            p_at = order.pop(0)
        if q_at is None and order and len(table.labels) <= 3:
            q_at = order.pop(0)
        if order and column is None:
            raise ProfileFileError(
                f"{len(table.labels)} columns; say which holds the multipliers with column=",
                file=file)
    elif p_at is None:
        rest = [i for i in range(len(table.labels)) if i not in (hour_at, q_at)]
        if len(rest) != 1:
            known = ", ".join(repr(table.labels[i]) for i in rest)
            raise ProfileFileError(f"which column holds the multipliers? pass column= one of "
                                   f"{known}", file=file)
        p_at = rest[0]
    if hour_at is not None and interval_h is not None:
        raise ProfileFileError(
            f"column {table.labels[hour_at]!r} holds hours and interval_h={interval_h} was "
            "given; give one of them", file=file)
    return p_at, hour_at, q_at


class _Values:
    """Numbers out of a table's cells, each failure naming its line or row."""

    def __init__(self, table: _Table, file: str):
        self.table = table
        self.file = file

    def error(self, k: int, at: int, message: str) -> ProfileFileError:
        """The error for data row ``k`` (0-based) of column ``at``."""
        lines = self.table.lines
        return ProfileFileError(message, file=self.file,
                                line=None if lines is None else lines[k],
                                row=k + 1 if lines is None else None,
                                column=self.table.labels[at])

    def numbers(self, at: int, *, allow_negative: bool) -> FloatArray:
        """Column ``at`` as finite floats (not negative unless ``allow_negative``)."""
        out = np.empty(len(self.table.cells[at]), dtype=np.float64)
        for k, cell in enumerate(self.table.cells[at]):
            if cell is None or cell == "":
                raise self.error(k, at, "missing value; fill it or remove the row")
            if isinstance(cell, bool) or not isinstance(cell, int | float | str):
                raise self.error(k, at, f"{cell!r} is not a number")
            try:
                value = float(cell)
            except ValueError:
                raise self.error(k, at, f"{cell!r} is not a number") from None
            if not math.isfinite(value):
                raise self.error(k, at, f"{cell!r} is not finite; give a number")
            if value < 0 and not allow_negative:
                raise self.error(k, at, f"negative multiplier {value:g}; multipliers are >= 0")
            out[k] = value
        return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
