"""Sizes a script may ask for are bounded, so a typo is an error, not an exhausted memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from feederos.errors import DssSyntaxError
from feederos.io.opendss import read_opendss

_HEAD = "New Circuit.c basekv=12.47 bus1=src\nNew Line.l1 bus1=src bus2=b length=1 units=km\n"


def test_a_huge_npts_is_refused_not_allocated(tmp_path: Path) -> None:
    # A typo of a few zeros would otherwise build a list of billions of points and the
    # process would be killed (the fuzz test's crashed worker).
    (tmp_path / "m.dss").write_text(_HEAD + "New Loadshape.s npts=900000000 interval=1\n")
    with pytest.raises(DssSyntaxError, match="npts must be 0 to 31,622,400") as err:
        read_opendss(tmp_path / "m.dss")
    assert err.value.line == 3
