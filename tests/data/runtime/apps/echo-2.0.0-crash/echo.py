"""A broken release of the echo test app: it raises in on_start."""

from feederos.runtime.app import App
from feederos.runtime.messages import Measurement


class Echo(App):
    def on_start(self) -> None:
        raise RuntimeError("echo 2.0.0 cannot find its calibration table")

    def on_measurement(self, measurement: Measurement) -> None:
        raise AssertionError("never started")
