"""A test app: answers every measurement with a set_p_kw command (value x gain)."""

from feederos.runtime.app import App
from feederos.runtime.messages import Action, Measurement


class Echo(App):
    def on_start(self) -> None:
        self.ctx.watch("+")

    def on_measurement(self, measurement: Measurement) -> None:
        gain = float(self.ctx.config.get("gain", 1.0))
        self.ctx.command(measurement.asset, Action.SET_P_KW, measurement.value * gain)
