"""A confined read (``read_opendss(..., root=...)``) never reads a file outside its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from feederos.errors import DssSyntaxError
from feederos.io.opendss import read_opendss
from feederos.model import Network

_HEAD = "New Circuit.c basekv=12.47 bus1=src\nNew Line.l1 bus1=src bus2=b length=1 units=km\n"


def _shape(network: Network, name: str) -> list[float]:
    return next(s.p_mult for s in network.load_shapes if s.name == name)


def _upload(tmp_path: Path, master: str) -> tuple[Path, Path]:
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "master.dss").write_text(master)
    secret = tmp_path / "secret.csv"
    secret.write_text("1\n2\n3\n")
    return upload, secret


@pytest.mark.parametrize(
    "line",
    [
        "Redirect {secret}",
        "Redirect ../secret.csv",
        "Compile {secret}",
        "BusCoords ../secret.csv",
        "New Loadshape.s npts=3 interval=1 mult=(file={secret})",
        "New Loadshape.s npts=3 interval=1 mult=(file=../secret.csv)",
    ],
)
def test_a_confined_read_refuses_files_outside_the_folder(tmp_path: Path, line: str) -> None:
    upload, secret = _upload(tmp_path, _HEAD)
    (upload / "master.dss").write_text(_HEAD + line.format(secret=secret) + "\n")
    with pytest.raises(DssSyntaxError, match="outside the folder") as err:
        read_opendss(upload / "master.dss", root=upload)
    assert err.value.file is not None and err.value.file.endswith("master.dss")
    assert err.value.line == 3


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    upload, secret = _upload(tmp_path, _HEAD + "Redirect link.dss\n")
    (upload / "link.dss").symlink_to(secret)
    with pytest.raises(DssSyntaxError, match="outside the folder"):
        read_opendss(upload / "master.dss", root=upload)


def test_files_inside_the_folder_are_read_and_unconfined_reads_are_unchanged(
    tmp_path: Path,
) -> None:
    upload, secret = _upload(tmp_path, _HEAD)
    (upload / "shapes").mkdir()
    (upload / "shapes" / "s.csv").write_text("0.5\n1\n0.75\n")
    (upload / "master.dss").write_text(
        _HEAD + "New Loadshape.s npts=3 interval=1 mult=(file=shapes/s.csv)\n"
    )
    confined = read_opendss(upload / "master.dss", root=upload)
    assert _shape(confined, "s") == [0.5, 1.0, 0.75]
    # Without root the same script may read anywhere, as OpenDSS does.
    (upload / "master.dss").write_text(
        _HEAD + f"New Loadshape.s npts=3 interval=1 mult=(file={secret})\n"
    )
    assert _shape(read_opendss(upload / "master.dss"), "s") == [1.0, 2.0, 3.0]
