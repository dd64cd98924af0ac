"""Interpreting OpenDSS property values: numbers, flags, arrays, matrices, lengths.

Each helper takes the :class:`~feederos.io.opendss._script.DssProperty` so that a bad
value raises :class:`~feederos.errors.DssSyntaxError` naming the file, the line and the
property.

Examples
--------
>>> from feederos.io.opendss._script import DssProperty, SourceLocation
>>> where = SourceLocation("ieee13.dss", 20)
>>> as_float(DssProperty("xhl", "8 1000 /", where, "("))
0.008
>>> as_matrix(DssProperty("rmatrix", "1 | 0.5 2", where)).tolist()
[[1.0, 0.5], [0.5, 2.0]]
>>> round(length_to_km(1000.0, "ft"), 9)
0.3048
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from feederos.errors import DssSyntaxError
from feederos.io.opendss._confine import outside_root
from feederos.io.opendss._lexer import LexError, split_params, split_values
from feederos.io.opendss._rpn import RpnError, eval_rpn, parse_number

if TYPE_CHECKING:  # pragma: no cover
    from feederos.io.opendss._script import DssProperty

__all__ = [
    "LENGTH_UNITS_KM",
    "as_array",
    "as_bool",
    "as_float",
    "as_float_array",
    "as_int",
    "as_matrix",
    "as_str",
    "length_to_km",
    "length_unit",
]

#: Kilometres per OpenDSS length unit (``LineUnits``); ``none`` means "no conversion".
LENGTH_UNITS_KM: dict[str, float] = {
    "none": 1.0,
    "mi": 1.609344,
    "kft": 0.3048,
    "km": 1.0,
    "m": 1.0e-3,
    "ft": 3.048e-4,
    "in": 2.54e-5,
    "cm": 1.0e-5,
    "mm": 1.0e-6,
}

# OpenDSS's GetUnitsCode looks at the first two letters only.
_UNIT_PREFIX = {
    "no": "none",
    "mi": "mi",
    "kf": "kft",
    "km": "km",
    "me": "m",
    "ft": "ft",
    "in": "in",
    "cm": "cm",
    "mm": "mm",
}
_TRUE = frozenset({"y", "yes", "true", "t"})
_FALSE = frozenset({"n", "no", "false", "f"})
_FILE_FORM = re.compile(r"\s*(file|sngfile|dblfile)\s*=", re.IGNORECASE)
_CSV_SPLIT = re.compile(r"[ \t\r,]+")


def _fail(prop: DssProperty, message: str) -> DssSyntaxError:
    return DssSyntaxError(
        f"property {prop.name!r} = {prop.value!r}: {message}",
        file=prop.where.file,
        line=prop.where.line,
    )


def _number(text: str, quote: str, prop: DssProperty) -> float:
    value = parse_number(text)
    if value is not None:
        return value
    if not text.strip(" \t\r,"):
        raise _fail(prop, "expected a number, got an empty value")
    try:
        return eval_rpn(text)
    except RpnError as exc:
        what = "in-line math" if quote else "a number"
        raise _fail(prop, f"expected {what}: {exc}") from None


def as_str(prop: DssProperty) -> str:
    """Return the value text as written (without its enclosing quotes).

    Examples
    --------
    >>> from feederos.io.opendss._script import DssProperty, SourceLocation
    >>> as_str(DssProperty("bus1", "650.1.2.3", SourceLocation("a.dss", 1)))
    '650.1.2.3'
    """
    return prop.value


def as_float(prop: DssProperty) -> float:
    """Return the value as a float, evaluating OpenDSS in-line RPN math.

    Raises
    ------
    DssSyntaxError
        If the value is neither a number nor a valid RPN expression with a finite result.

    Examples
    --------
    >>> from feederos.io.opendss._script import DssProperty, SourceLocation
    >>> w = SourceLocation("a.dss", 1)
    >>> as_float(DssProperty("%r", ".5 1000 /", w, "(")), as_float(DssProperty("kv", "4.16", w))
    (0.0005, 4.16)
    """
    return _number(prop.value, prop.quote, prop)


def as_int(prop: DssProperty) -> int:
    """Return the value as an integer (a decimal value is rounded, as OpenDSS does).

    Examples
    --------
    >>> from feederos.io.opendss._script import DssProperty, SourceLocation
    >>> as_int(DssProperty("phases", "3", SourceLocation("a.dss", 1)))
    3
    """
    value = _number(prop.value, prop.quote, prop)
    if abs(value) > 2.0**62:
        raise _fail(prop, "integer out of range")
    return round(value)


def as_bool(prop: DssProperty) -> bool:
    """Return the value as a flag: ``y yes true t`` or ``n no false f``.

    Examples
    --------
    >>> from feederos.io.opendss._script import DssProperty, SourceLocation
    >>> as_bool(DssProperty("switch", "Y", SourceLocation("a.dss", 1)))
    True
    """
    word = prop.value.strip(" \t\r").lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _fail(prop, "expected yes/no (y, yes, true, t, n, no, false, f)")


def _file_array(prop: DssProperty) -> list[str] | npt.NDArray[np.float64] | None:
    """Read the ``file=``/``sngfile=``/``dblfile=`` form, or return None if not one."""
    if _FILE_FORM.match(prop.value) is None:
        return None
    try:
        params = split_params(prop.value)
    except LexError as exc:
        raise _fail(prop, str(exc)) from None
    kind, name = params[0].name.lower(), params[0].value
    column, header = 1, False
    for param in params[1:]:
        key = param.name.lower()
        if key in ("col", "column"):
            number = parse_number(param.value)
            if number is None or number != int(number) or number < 1:
                raise _fail(prop, f"col must be a positive integer, got {param.value!r}")
            column = int(number)
        elif key == "header":
            word = param.value.lower()
            if word not in _TRUE | _FALSE:
                raise _fail(prop, f"header must be yes or no, got {param.value!r}")
            header = word in _TRUE
        else:
            raise _fail(prop, f"unknown file option {param.name or param.value!r}")
    path = Path(name)
    if not path.is_absolute():
        path = Path(prop.base_dir or ".") / path
    if outside_root(path):
        raise _fail(prop, f"{name!r} is outside the folder of the uploaded files; use a "
                          "relative path to a file inside it")
    try:
        if kind == "file":
            text = path.read_bytes().decode("utf-8-sig", errors="replace")
        else:
            dtype = np.dtype("<f4") if kind == "sngfile" else np.dtype("<f8")
            return np.fromfile(path, dtype=dtype).astype(np.float64)
    except (OSError, ValueError) as exc:
        raise _fail(prop, f"cannot read {path}: {exc}") from None
    return _csv_column(text, column, header, path, prop)


def _csv_column(text: str, column: int, header: bool, path: Path, prop: DssProperty) -> list[str]:
    values: list[str] = []
    lines = text.split("\n")
    for lineno, line in enumerate(lines[1:] if header else lines, start=2 if header else 1):
        cut = line.split("!", 1)[0].split("//", 1)[0].strip(" \t\r")
        if not cut:
            continue
        fields = _CSV_SPLIT.split(cut)
        if len(fields) < column:
            raise _fail(prop, f"{path}:{lineno}: no column {column} in {line.strip()!r}")
        values.append(fields[column - 1])
    return values


def as_array(prop: DssProperty) -> list[str]:
    """Return the value as a list of element texts.

    Elements are separated by blanks, tabs or commas; ``(file=name.csv)`` (optionally
    with ``col=`` and ``header=``), ``(sngfile=...)`` and ``(dblfile=...)`` read the
    elements from a file relative to the directory of the script that set the property.

    Examples
    --------
    >>> from feederos.io.opendss._script import DssProperty, SourceLocation
    >>> as_array(DssProperty("buses", "650.1, RG60.1", SourceLocation("a.dss", 1)))
    ['650.1', 'RG60.1']
    """
    items = _file_array(prop)
    if items is None:
        try:
            return [text for text, quote in split_values(prop.value) if text != "|" or quote]
        except LexError as exc:
            raise _fail(prop, str(exc)) from None
    if isinstance(items, np.ndarray):
        return [repr(float(v)) for v in items]
    return items


def as_float_array(prop: DssProperty) -> list[float]:
    """Return the value as a list of floats (see :func:`as_array` for the forms).

    Examples
    --------
    >>> from feederos.io.opendss._script import DssProperty, SourceLocation
    >>> as_float_array(DssProperty("kvs", "69,24.9, .48", SourceLocation("a.dss", 1)))
    [69.0, 24.9, 0.48]
    """
    items = _file_array(prop)
    if isinstance(items, np.ndarray):
        return [float(v) for v in items]
    if items is not None:
        return [_number(text, "", prop) for text in items]
    try:
        elements = split_values(prop.value)
    except LexError as exc:
        raise _fail(prop, str(exc)) from None
    return [_number(text, quote, prop) for text, quote in elements if text != "|" or quote]


def as_matrix(prop: DssProperty, n: int | None = None) -> npt.NDArray[np.float64]:
    """Return the value as an ``n`` x ``n`` float matrix.

    Accepts the lower triangle with ``|`` between rows (``(a | b c | d e f)``), full rows
    with ``|`` (the lower triangle is used and mirrored, as OpenDSS does), or, without
    ``|``, ``n(n+1)/2`` lower-triangle values or ``n*n`` values of a full matrix in
    row order.

    Parameters
    ----------
    prop
        The property.
    n
        The expected order; the number of ``|``-separated rows when None.

    Examples
    --------
    >>> from feederos.io.opendss._script import DssProperty, SourceLocation
    >>> w = SourceLocation("a.dss", 1)
    >>> as_matrix(DssProperty("xmatrix", "1 2 3", w), 2).tolist()
    [[1.0, 2.0], [2.0, 3.0]]
    """
    try:
        elements = split_values(prop.value)
    except LexError as exc:
        raise _fail(prop, str(exc)) from None
    rows: list[list[float]] = [[]]
    for text, quote in elements:
        if text == "|" and not quote:
            rows.append([])
        else:
            rows[-1].append(_number(text, quote, prop))
    while len(rows) > 1 and not rows[-1]:
        rows.pop()
    order = len(rows) if n is None else n
    if order < 1:
        raise _fail(prop, f"matrix order must be at least 1, got {order}")
    matrix = np.zeros((order, order))
    if len(rows) > 1:
        if len(rows) != order:
            raise _fail(prop, f"expected {order} rows separated by '|', got {len(rows)}")
        for i, row in enumerate(rows):
            if not i + 1 <= len(row) <= order:
                raise _fail(
                    prop,
                    f"row {i + 1} has {len(row)} values; expected "
                    f"{i + 1} (lower triangle) to {order} (full)",
                )
            for j, value in enumerate(row):
                matrix[i, j] = matrix[j, i] = value
        return matrix
    values = rows[0]
    if len(values) == order * (order + 1) // 2:
        rows_i, cols_j = np.tril_indices(order)
        matrix[rows_i, cols_j] = values
        matrix[cols_j, rows_i] = values
    elif len(values) == order * order:
        matrix[:, :] = np.asarray(values).reshape(order, order)
    else:
        raise _fail(
            prop,
            f"expected {order * (order + 1) // 2} (lower triangle) or "
            f"{order * order} values for a {order}x{order} matrix, got {len(values)}",
        )
    return matrix


def length_unit(unit: str) -> str:
    """Return the canonical OpenDSS length unit for ``unit`` (``''`` means ``none``).

    Raises
    ------
    DssSyntaxError
        For a unit OpenDSS does not know.

    Examples
    --------
    >>> length_unit("Kft"), length_unit("meter"), length_unit("")
    ('kft', 'm', 'none')
    """
    word = unit.strip(" \t\r").lower()
    if word in LENGTH_UNITS_KM:
        return word
    if not word:
        return "none"
    canonical = _UNIT_PREFIX.get(word[:2])
    if canonical is None:
        raise DssSyntaxError(
            f"unknown length unit {unit!r}; expected one of {', '.join(LENGTH_UNITS_KM)}"
        )
    return canonical


def length_to_km(value: float, unit: str) -> float:
    """Convert a length in an OpenDSS unit to kilometres [km].

    ``none`` leaves the value unchanged (OpenDSS then takes lengths as given).

    Examples
    --------
    >>> length_to_km(1.0, "mi"), length_to_km(500.0, "m"), length_to_km(2.0, "none")
    (1.609344, 0.5, 2.0)
    """
    return value * LENGTH_UNITS_KM[length_unit(unit)]
