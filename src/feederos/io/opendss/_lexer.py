"""Tokenising one OpenDSS command line, as OpenDSS's own parser does.

OpenDSS reads a line as a sequence of parameters ``[name=]value``. A value is either a
bare token, which ends at white space, ``,``, ``=`` or a comment (``!`` or ``//``), or a
quoted token that starts with one of ``" ' ( [ {`` and ends at the first matching
closing character (no nesting). Delimiters may be surrounded by blanks, so
``kV= 24.9`` and ``rmatrix = (1 | 2 3)`` are one parameter each.

This mirrors ``TParser.GetToken``/``GetNextParam`` of OpenDSS (``ParserDel.pas``), except
that an unterminated quote is an error here (OpenDSS silently reads to the end of line).

Examples
--------
>>> [(p.name, p.value, p.quote) for p in split_params("New Line.a kV= 4.16 x=(1 2 +) ! c")]
[('', 'New', ''), ('', 'Line.a', ''), ('kV', '4.16', ''), ('x', '1 2 +', '(')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LexError", "Param", "split_params", "split_values"]

_QUOTES = {'"': '"', "'": "'", "(": ")", "[": "]", "{": "}"}
_WHITE = " \t\r"
# A bare token: anything up to white space, a delimiter, '!' or '//'.
_BARE = re.compile(r"(?:[^ \t\r,=!/]|/(?!/))*")
_BARE_ARRAY = re.compile(r"(?:[^ \t\r,=!/|]|/(?!/))*")


class LexError(ValueError):
    """A line cannot be tokenised (an opening quote or bracket is never closed)."""


@dataclass(frozen=True, slots=True)
class Param:
    """One ``[name=]value`` parameter of a command line.

    Attributes
    ----------
    name
        The text before ``=`` as written, or ``""`` for a positional parameter.
    value
        The token text with enclosing quotes or brackets removed.
    quote
        The opening quote character (one of ``" ' ( [ {``) or ``""`` for a bare token.
    """

    name: str
    value: str
    quote: str


def _skip_white(line: str, pos: int) -> int:
    n = len(line)
    while pos < n and line[pos] in _WHITE:
        pos += 1
    return pos


def _token(line: str, pos: int, bare: re.Pattern[str]) -> tuple[str, str, str, int]:
    """Read one token at ``pos`` (no leading blanks).

    Returns
    -------
    tuple
        ``(text, quote, delimiter, new_pos)``; ``delimiter`` is ``"="``, ``","``, ``"|"``,
        ``" "`` or ``"!"`` (a comment: the rest of the line is ignored).
    """
    n = len(line)
    if pos >= n:
        return "", "", "!", n
    ch = line[pos]
    delim = " "
    if ch in _QUOTES:
        end = line.find(_QUOTES[ch], pos + 1)
        if end < 0:
            raise LexError(f"unbalanced {ch!r}: no closing {_QUOTES[ch]!r} on the line")
        text, quote, pos = line[pos + 1 : end], ch, end + 1
    else:
        m = bare.match(line, pos)
        assert m is not None  # the pattern matches the empty string
        text, quote, pos = m.group(), "", m.end()
        if pos < n and line[pos] in "!/":
            return text, quote, "!", n
    pos = _skip_white(line, pos)
    if (pos < n and line[pos] in ",=") or (pos < n and line[pos] == "|" and bare is _BARE_ARRAY):
        delim = line[pos]
        pos = _skip_white(line, pos + 1)
    elif pos < n and (line[pos] == "!" or line.startswith("//", pos)):
        return text, quote, "!", n
    return text, quote, delim, pos


def split_params(line: str) -> list[Param]:
    """Split a command line into its parameters, stopping at a comment.

    Parameters
    ----------
    line
        One line of an OpenDSS script.

    Returns
    -------
    list of Param
        Every parameter up to the end of the line or the first empty value (OpenDSS
        stops there too).

    Raises
    ------
    LexError
        If a quote or bracket opened on the line is not closed on it.

    Examples
    --------
    >>> [p.value for p in split_params("Set VoltageBases = [4.16, 0.48]  ! kV")]
    ['Set', '4.16, 0.48']
    >>> split_params("// just a comment")
    []
    """
    params: list[Param] = []
    pos = _skip_white(line, 0)
    n = len(line)
    while pos < n:
        text, quote, delim, pos = _token(line, pos, _BARE)
        name = ""
        if delim == "=":
            name = text
            text, quote, delim, pos = _token(line, pos, _BARE)
        if not text and not quote and not name:
            if delim == "!":
                break
            continue  # an empty token between two delimiters, e.g. ", ,"
        params.append(Param(name, text, quote))
        if delim == "!":
            break
    return params


def split_values(text: str) -> list[tuple[str, str]]:
    """Split an array value such as ``"1, 2 3 | 4"`` into its elements.

    Separators are blanks, tabs, commas and ``|`` (a matrix row separator, returned as
    its own element ``("|", "")``). Elements may themselves be quoted.

    Parameters
    ----------
    text
        The array text without its enclosing brackets.

    Returns
    -------
    list of tuple
        ``(element, quote)`` pairs.

    Raises
    ------
    LexError
        If a quote inside the array is not closed.

    Examples
    --------
    >>> split_values("0.3 | 0.1, 0.4")
    [('0.3', ''), ('|', ''), ('0.1', ''), ('0.4', '')]
    """
    out: list[tuple[str, str]] = []
    pos = _skip_white(text, 0)
    n = len(text)
    while pos < n:
        if text[pos] == "|":
            out.append(("|", ""))
            pos = _skip_white(text, pos + 1)
            continue
        if text[pos] in ",=":
            pos = _skip_white(text, pos + 1)
            continue
        elem, quote, delim, pos = _token(text, pos, _BARE_ARRAY)
        if elem or quote:
            out.append((elem, quote))
        if delim == "|":
            out.append(("|", ""))
        elif delim == "!":
            break
    return out
