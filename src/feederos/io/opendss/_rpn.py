"""Numbers and OpenDSS's in-line RPN calculator.

OpenDSS evaluates any quoted numeric value, e.g. ``XHL=(8 1000 /)``, with a reverse
Polish notation calculator (``RPN.pas``): numbers are pushed on a 10-register stack
(X is the top), operators act on X and Y. Trigonometric functions work in degrees.

Examples
--------
>>> eval_rpn("8 1000 /")
0.008
>>> eval_rpn("2 sqrt sqr")
2.0000000000000004
>>> parse_number("1e3"), parse_number("abc")
(1000.0, None)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

__all__ = ["RpnError", "eval_rpn", "parse_number"]

# Pascal's Val accepts an optional sign, digits with an optional fraction, an exponent.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_STACK_SIZE = 10
_DEG = math.pi / 180.0


class RpnError(ValueError):
    """An in-line math expression is not valid or does not give a finite number."""


def parse_number(text: str) -> float | None:
    """Read a plain decimal number the way OpenDSS does, or return None.

    Parameters
    ----------
    text
        The token text.

    Returns
    -------
    float or None
        The number, or None when ``text`` is not one number.

    Examples
    --------
    >>> parse_number(".48"), parse_number("-1.5E-3"), parse_number("1_0")
    (0.48, -0.0015, None)
    """
    text = text.strip(" \t\r")
    if _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _unary(fn: Callable[[float], float]) -> Callable[[list[float]], None]:
    def op(stack: list[float]) -> None:
        stack[0] = fn(stack[0])

    return op


def _binary(fn: Callable[[float, float], float]) -> Callable[[list[float]], None]:
    """Combine Y (stack[1]) and X (stack[0]) into X and roll the stack down."""

    def op(stack: list[float]) -> None:
        stack[1] = fn(stack[1], stack[0])
        _roll_down(stack)

    return op


def _roll_down(stack: list[float]) -> None:
    del stack[0]
    stack.append(stack[-1])


def _roll_up(stack: list[float]) -> None:
    stack.insert(0, stack[0])
    del stack[-1]


def _push(stack: list[float], value: float) -> None:
    _roll_up(stack)
    stack[0] = value


def _swap(stack: list[float]) -> None:
    stack[0], stack[1] = stack[1], stack[0]


_OPS: dict[str, Callable[[list[float]], None]] = {
    "+": _binary(lambda y, x: y + x),
    "-": _binary(lambda y, x: y - x),
    "*": _binary(lambda y, x: y * x),
    "/": _binary(lambda y, x: y / x),
    "^": _binary(math.pow),
    "atan2": _binary(lambda y, x: math.atan2(y, x) / _DEG),
    "sqrt": _unary(math.sqrt),
    "sqr": _unary(lambda x: x * x),
    "sin": _unary(lambda x: math.sin(x * _DEG)),
    "cos": _unary(lambda x: math.cos(x * _DEG)),
    "tan": _unary(lambda x: math.tan(x * _DEG)),
    "asin": _unary(lambda x: math.asin(x) / _DEG),
    "acos": _unary(lambda x: math.acos(x) / _DEG),
    "atan": _unary(lambda x: math.atan(x) / _DEG),
    "ln": _unary(math.log),
    "log10": _unary(math.log10),
    "exp": _unary(math.exp),
    "inv": _unary(lambda x: 1.0 / x),
    "pi": lambda stack: _push(stack, math.pi),
    "swap": _swap,
    "rollup": _roll_up,
    "rolldn": _roll_down,
}


def eval_rpn(text: str) -> float:
    """Evaluate an OpenDSS in-line RPN expression.

    Parameters
    ----------
    text
        Blank- or comma-separated numbers and operators: ``+ - * / ^ sqr sqrt inv pi
        sin cos tan asin acos atan atan2 ln log10 exp swap rollup rolldn``.

    Returns
    -------
    float
        The X register after the last entry.

    Raises
    ------
    RpnError
        For an unknown entry, a math error or a result that is not finite.

    Examples
    --------
    >>> eval_rpn("(.5 1000 /)".strip("()"))
    0.0005
    >>> round(eval_rpn("pi 2 *"), 6)
    6.283185
    >>> eval_rpn("3 4 atan2") > 36.8
    True
    """
    stack = [0.0] * _STACK_SIZE
    for entry in re.split(r"[ \t\r,]+", text.strip(" \t\r,")):
        if not entry:
            continue
        number = parse_number(entry)
        if number is not None:
            _push(stack, number)
            continue
        op = _OPS.get(entry.lower())
        if op is None:
            raise RpnError(f"invalid in-line math entry {entry!r} in ({text})")
        try:
            op(stack)
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise RpnError(f"math error in ({text}): {exc}") from None
    result = stack[0]
    if not math.isfinite(result):
        raise RpnError(f"({text}) does not evaluate to a finite number")
    return float(result)
