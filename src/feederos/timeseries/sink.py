"""Where a time series' frames go, a window of steps at a time.

A run hands its frames to a :class:`SeriesSink` every ``window`` steps: the per-step
totals (``steps``), ``taps`` and ``capacitors``, and the recorded ``voltages_pu``,
``currents_a`` and ``loadings_pu`` (:mod:`feederos.timeseries.recording`). In memory
(``directory=None``) the sink joins them into whole frames at the end. Given a
directory, it appends each window to one Parquet file per frame (``steps.parquet`` …,
one row group per window, a ``step`` column numbering the steps from 0), so that what
stays in memory is one window of the recorded frames and the small per-step ones; the
files appear only when the run has finished (each is written as ``*.parquet.partial``
and renamed), and a run that fails leaves none behind, nor disturbs a previous run's.

Examples
--------
>>> import tempfile
>>> import pandas as pd
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as d:
...     sink = SeriesSink(Path(d))
...     sink.add(0, {"steps": pd.DataFrame({"x": [1.0, 2.0]}),
...                  "voltages_pu": pd.DataFrame({"a.1": [1.0, 1.01]})})
...     sink.add(2, {"steps": pd.DataFrame({"x": [3.0]}),
...                  "voltages_pu": pd.DataFrame({"a.1": [0.99]})})
...     frames = sink.finish()
...     on_disk = pd.read_parquet(Path(d) / "voltages_pu.parquet")
>>> frames["steps"].x.tolist(), frames["voltages_pu"].shape
([1.0, 2.0, 3.0], (0, 1))
>>> on_disk.step.tolist(), on_disk["a.1"].tolist()
([0, 1, 2], [1.0, 1.01, 0.99])
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import pyarrow.parquet as pq

__all__ = ["KEPT", "SeriesSink"]

KEPT = ("steps", "taps", "capacitors", "soc_pct")
"""Frames a sink always keeps in memory: a few numbers per step, whatever the network's
size (a run's ``summary()`` reads them)."""


class SeriesSink:
    """Collects a run's frames window by window (see the module docstring).

    Parameters
    ----------
    directory
        Where to stream every frame as Parquet; ``None``: keep all in memory.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._parts: dict[str, list[pd.DataFrame]] = {}
        self._columns: dict[str, list[str]] = {}
        self._writers: dict[str, pq.ParquetWriter] = {}

    def _partial(self, name: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{name}.parquet.partial"

    def add(self, first_step: int, frames: dict[str, pd.DataFrame]) -> None:
        """Take one window's frames, their rows steps ``first_step …``."""
        for name, frame in frames.items():
            frame = frame.reset_index(drop=True)
            self._columns.setdefault(name, list(frame.columns))
            if self.directory is None or name in KEPT:
                self._parts.setdefault(name, []).append(frame)
            if self.directory is not None:
                self._write(name, first_step, frame)

    def _write(self, name: str, first_step: int, frame: pd.DataFrame) -> None:
        import pyarrow as pa  # a heavy import, only when a run streams
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(
            frame.assign(step=range(first_step, first_step + len(frame)))[
                ["step", *frame.columns]], preserve_index=False)
        writer = self._writers.get(name)
        if writer is None:
            assert self.directory is not None
            self.directory.mkdir(parents=True, exist_ok=True)
            writer = self._writers[name] = pq.ParquetWriter(self._partial(name), table.schema)
        writer.write_table(table)

    def reset(self) -> None:
        """Forget everything taken so far (a run that starts over)."""
        self.discard()
        self._parts.clear()
        self._columns.clear()

    def discard(self) -> None:
        """Close and delete the files being written (a run that failed)."""
        for name, writer in self._writers.items():
            writer.close()
            self._partial(name).unlink(missing_ok=True)
        self._writers.clear()

    def finish(self) -> dict[str, pd.DataFrame]:
        """Close the files, putting each in place, and return the frames kept in memory
        (the recorded ones empty, with their columns, when they were streamed)."""
        for name, writer in self._writers.items():
            writer.close()
            partial = self._partial(name)
            partial.replace(partial.with_name(f"{name}.parquet"))
        self._writers.clear()
        out = {}
        for name, columns in self._columns.items():
            parts = self._parts.get(name)
            out[name] = (pd.concat(parts, ignore_index=True) if parts
                         else pd.DataFrame(columns=columns, dtype=float))
        return out
