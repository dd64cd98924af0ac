"""Load shapes from files: every case in tests/data/timeseries/shape_files, and Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feederos.errors import ProfileError, ProfileFileError
from feederos.timeseries.profiles import read_load_shape, read_pv_shape, shape_multipliers

CASES = Path(__file__).resolve().parents[1] / "data" / "timeseries" / "shape_files"
FILES = sorted(p for p in CASES.iterdir() if p.suffix in (".csv", ".txt"))


def _expectation(path: Path) -> tuple[str, str, dict[str, str]]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must say what to expect"
    body, _, kwargs = first.removeprefix("# expect: ").partition(" | ")
    kind, _, text = body.partition(" ")
    return kind, text, dict(kv.split("=", 1) for kv in kwargs.split())


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_shape_file_case(path: Path) -> None:
    kind, text, kwargs = _expectation(path)
    if kind == "error":
        with pytest.raises(ProfileFileError) as info:
            read_load_shape(path, **kwargs)  # type: ignore[arg-type]
        message = str(info.value)
        assert message.startswith(str(path)), message
        assert text in message, message
        return
    assert kind == "ok"
    shape = read_load_shape(path, **kwargs)  # type: ignore[arg-type]
    fields = dict(item.split("=", 1) for item in text.split())
    assert shape.name == path.stem
    assert shape.n_points == int(fields["n"])
    assert shape.p_mult == _floats(fields["p"])
    if "hours" in fields:
        assert shape.hours == _floats(fields["hours"])
        assert shape.interval_h is None
    else:
        assert shape.hours is None
        assert shape.interval_h == float(fields["interval_h"])
    assert shape.q_mult == (_floats(fields["q"]) if "q" in fields else None)


def test_every_case_file_is_run() -> None:
    assert len(FILES) >= 10
    assert {_expectation(p)[0] for p in FILES} == {"ok", "error"}


def test_csv_interval_reads_two_headerless_columns_as_p_and_q(tmp_path: Path) -> None:
    path = tmp_path / "pq.csv"
    path.write_text("0.5,0.1\n1.0,0.2\n")
    shape = read_load_shape(path, interval_h=0.25, name="my_shape")
    assert (shape.name, shape.interval_h, shape.p_mult, shape.q_mult) == (
        "my_shape", 0.25, [0.5, 1.0], [0.1, 0.2])
    # and it evaluates as OpenDSS does: point 1 at 0.25 h, point 2 at 0.5 h
    assert shape_multipliers(shape, [0.25, 0.5, 0.75]).tolist() == [0.5, 1.0, 0.5]


def test_hours_and_interval_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("hour,p_mult\n1,0.5\n")
    with pytest.raises(ProfileFileError, match=r"holds hours and interval_h=1\.0"):
        read_load_shape(path, interval_h=1.0)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileFileError, match=r"unknown file type '\.xlsx'"):
        read_load_shape(tmp_path / "shape.xlsx")
    with pytest.raises(FileNotFoundError):
        read_load_shape(tmp_path / "absent.csv")


def test_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "feeder shape.parquet"
    frame = pd.DataFrame({"hour": [1.0, 2.0, 4.0], "p_mult": [0.2, 0.9, 0.4],
                          "q_mult": [0.1, 0.1, -0.1], "note": ["a", "b", "c"]})
    frame.to_parquet(path)
    shape = read_load_shape(path)
    assert shape.name == "feeder_shape"
    assert shape.hours == [1.0, 2.0, 4.0]
    assert shape.p_mult == [0.2, 0.9, 0.4]
    assert shape.q_mult == [0.1, 0.1, -0.1]
    # hours at explicit points interpolate
    assert np.allclose(shape_multipliers(shape, [3.0]), [0.65])


@pytest.mark.parametrize(("values", "row", "text"), [
    ([0.5, float("nan"), 0.7], 2, "missing value"),
    ([0.5, 0.6, -1.0], 3, "negative multiplier -1"),
])
def test_parquet_errors_name_the_row(tmp_path: Path, values: list[float], row: int,
                                     text: str) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"p_mult": values}).to_parquet(path)
    with pytest.raises(ProfileFileError) as info:
        read_load_shape(path)
    assert info.value.row == row
    assert info.value.column == "p_mult"
    assert f"row {row}: column 'p_mult': {text}" in str(info.value)


def test_parquet_text_column_and_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "text.parquet"
    pd.DataFrame({"p_mult": ["0.5", "high"]}).to_parquet(path)
    with pytest.raises(ProfileFileError, match="row 2: column 'p_mult': 'high' is not a number"):
        read_load_shape(path)
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"p_mult": pd.Series([], dtype=float)}).to_parquet(empty)
    with pytest.raises(ProfileFileError, match="no data rows"):
        read_load_shape(empty)


def test_profile_errors_are_value_errors(tmp_path: Path) -> None:
    assert issubclass(ProfileFileError, ProfileError)
    assert issubclass(ProfileError, ValueError)


def test_pv_shape_from_a_file_of_kw(tmp_path: Path) -> None:
    path = tmp_path / "pv.csv"
    path.write_text("hour,p_kw\n1,0\n2,4\n3,8\n")
    shape = read_pv_shape(path, p_rated_kw=8.0, column="p_kw")
    assert shape.p_mult == [0.0, 0.5, 1.0]
    assert shape.hours == [1.0, 2.0, 3.0]
    with pytest.raises(ProfileError, match="p_rated_kw"):
        read_pv_shape(path, p_rated_kw=0.0, column="p_kw")
