"""Compile a network into a Feeder OS config bundle: topology, assets and app configs.

:func:`export_config_bundle` turns a feederos network (a stored version, a study case)
into the :class:`~feederos.runtime.config_bundle.ConfigBundle` that ``fos config apply``
takes, so a feeder's runtime is configured from the same model the studies use:

- ``topology.json`` — the network document itself;
- ``assets.json`` — one entry per asset of
  :class:`~feederos.runtime.cosim_apply.AssetCatalogue` (the same ids the power-flow
  twin uses, so an app sees the same ids on the twin and in the field): its element and
  bus, phases, measurement and command topics under ``feeder/<feeder-id>/``, the
  measurements it publishes (as :mod:`~feederos.runtime.cosim_measure` reads them) and
  the commands it accepts;
- ``apps/<app>.json`` — an initial config for each app named in ``apps``.

Initial app configs
-------------------
For an app this module knows, the config is generated from the network and the dict
given in ``apps`` is laid over it (its keys win); any other app's config is the dict
given, as it is. No app config is written unless ``apps`` names the app: a bundle that
configures an app the runtime has not installed is refused on apply.

``volt-watt`` (``examples/apps/volt-watt``)
    ``{"ders": [{"asset": "inverter.<pv>"}, …]}``: every PV inverter of the catalogue,
    each acting on its own terminal voltage (the schema's default ``watch``); the curve
    keeps the app's IEEE 1547-2018 defaults. A network without PV is an error, since
    the app needs at least one DER.
``der-ev-orchestrator`` (a DER/EV orchestration app to come)
    ``{"inverters": [{"asset", "element", "kind", "bus", "phases", "s_kva",
    "p_rated_kw", "energy_kwh"}, …], "chargers": [{"element", "bus", "phases",
    "p_max_kw", "bidirectional"}, …]}``. ``p_rated_kw`` is the array's Pmpp or the
    battery's kW rating, else the inverter's kVA; ``energy_kwh`` is ``null`` for PV.
    EV chargers are not assets of the twin yet (the catalogue has no kind for them),
    so they are listed by element (``ev_chargers/<name>``), without an asset id.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> bundle = export_config_bundle(load_feeder("ieee13"), "ieee13-1")
>>> len(bundle.assets), bundle.assets[0].id, bundle.assets[0].measurement_topic
(37, 'sourcebus', 'feeder/ieee13-1/measurements/sourcebus')
>>> reg = next(a for a in bundle.assets if a.kind == "regulator")
>>> reg.id, reg.element, reg.bus, [p.value for p in reg.phases], [c.value for c in reg.commands]
('regulator.reg1', 'regulators/reg1', 'rg60', ['a'], ['set_tap'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from feederos.errors import ConfigBundleError, TopicError
from feederos.model import (
    DerKind,
    Network,
    PowerElectronicsConnection,
    RatioTapChanger,
    Terminal,
)
from feederos.runtime.config_bundle import (
    ASSET_ACTIONS,
    ASSET_COLLECTIONS,
    AssetMeasurement,
    BundleAsset,
    ConfigBundle,
    canonical_json,
)
from feederos.runtime.cosim_apply import AssetCatalogue, AssetKind
from feederos.runtime.messages import Phase
from feederos.runtime.topics import check_id, command_topic, measurement_topic
from feederos.topology.nodes import bus_nodes

__all__ = [
    "APP_CONFIG_BUILDERS",
    "DER_EV_ORCHESTRATOR",
    "VOLT_WATT",
    "bundle_assets",
    "der_ev_orchestrator_config",
    "export_config_bundle",
    "volt_watt_config",
]

VOLT_WATT: Final = "volt-watt"
"""The example volt-watt app's name."""

DER_EV_ORCHESTRATOR: Final = "der-ev-orchestrator"
"""The name of the DER/EV orchestrator app's config."""

_PHASE_OF_NODE: Final = {1: Phase.A, 2: Phase.B, 3: Phase.C}

# What each kind publishes, as cosim_measure.Meter reads it: (quantity, unit, per phase).
_MEASURED: Final[dict[AssetKind, tuple[tuple[str, str, bool], ...]]] = {
    AssetKind.BUS: (("v_pu", "pu", True),),
    AssetKind.INVERTER: (
        ("p_kw", "kW", False),
        ("q_kvar", "kvar", False),
        ("p_limit_pct", "%", False),
        ("v_pu", "pu", True),
    ),
    AssetKind.REGULATOR: (("tap", "step", False),),
    AssetKind.CAPACITOR: (("steps_in", "step", False),),
    AssetKind.SWITCH: (("open", "-", False),),
    AssetKind.LOAD: (("p_kw", "kW", False), ("q_kvar", "kvar", False)),
}


def export_config_bundle(
    network: Network,
    feeder_id: str,
    *,
    apps: Mapping[str, Mapping[str, Any]] | None = None,
    description: str = "",
    author: str = "",
) -> ConfigBundle:
    """The config bundle that runs ``network`` as feeder ``feeder_id`` (module docstring).

    Parameters
    ----------
    network
        The feeder; not modified.
    feeder_id
        The feeder's id: one topic level (``feeder/<feeder_id>/…``).
    apps
        App name → config to lay over the generated one (``{}`` for the generated
        config alone); ``None`` writes no app config.
    description, author
        Notes kept in ``bundle.toml`` (outside the digest).

    Raises
    ------
    ConfigBundleError
        The feeder id or an app name is not a topic level, an app config is not JSON,
        or a known app cannot be configured from this network (volt-watt without PV).
    """
    _check_level(feeder_id, "feeder id")
    catalogue = AssetCatalogue.of(network)
    configs: dict[str, dict[str, Any]] = {}
    for app, given in (apps or {}).items():
        _check_level(app, "app name")
        builder = APP_CONFIG_BUILDERS.get(app)
        base = builder(network, catalogue) if builder is not None else {}
        config = {**base, **given}
        try:
            canonical_json(config)
        except (TypeError, ValueError) as exc:
            raise ConfigBundleError(f"app {app!r}: config is not plain JSON: {exc}") from None
        configs[app] = config
    return ConfigBundle(
        feeder_id=feeder_id,
        description=description,
        author=author,
        topology=network.model_dump(mode="json"),
        app_configs=configs,
        assets=bundle_assets(network, feeder_id, catalogue=catalogue),
    )


def bundle_assets(
    network: Network, feeder_id: str, *, catalogue: AssetCatalogue | None = None
) -> tuple[BundleAsset, ...]:
    """The ``assets.json`` entries of ``network``: one per catalogue asset, in its order.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> load = next(a for a in bundle_assets(load_feeder("ieee13"), "f1")
    ...             if a.id == "load.646")
    >>> load.bus, [p.value for p in load.phases], [m.quantity for m in load.measurements]
    ('646', ['b', 'c'], ['p_kw', 'q_kvar'])
    >>> load.command_topic
    'feeder/f1/commands/load.646'
    """
    _check_level(feeder_id, "feeder id")
    cat = catalogue if catalogue is not None else AssetCatalogue.of(network)
    where = _connections(network)
    return tuple(
        _asset(feeder_id, asset_id, kind, name, *where[kind](name))
        for asset_id, (kind, name) in cat.assets.items()
    )


def _asset(
    feeder_id: str, asset_id: str, kind: AssetKind, name: str, bus: str, nodes: tuple[int, ...]
) -> BundleAsset:
    phases = _phases(nodes)
    actions = ASSET_ACTIONS[kind.value]
    measurements = tuple(
        AssetMeasurement(quantity=quantity, phase=phase, unit=unit)
        for quantity, unit, per_phase in _MEASURED[kind]
        for phase in (phases if per_phase else (None,))
    )
    return BundleAsset(
        id=asset_id,
        kind=kind.value,
        element=f"{ASSET_COLLECTIONS[kind.value]}/{name}",
        bus=bus,
        phases=phases,
        measurement_topic=measurement_topic(feeder_id, asset_id),
        command_topic=command_topic(feeder_id, asset_id) if actions else None,
        measurements=measurements,
        commands=actions,
    )


_Where = Callable[[str], tuple[str, tuple[int, ...]]]


def _connections(network: Network) -> dict[AssetKind, _Where]:
    """Per kind: element name → the bus it is at and the nodes it connects to there."""
    nodes_at = bus_nodes(network)
    transformers = {t.name: t for t in network.transformers}

    def regulated(reg: RatioTapChanger) -> Terminal:
        if reg.transformer not in transformers:
            raise ConfigBundleError(
                f"regulator {reg.name!r} acts on transformer {reg.transformer!r}, which the "
                "network lacks; fix the network (validate() names it)"
            )
        # The winding it regulates (OpenDSS ``winding``), where its PT senses.
        return transformers[reg.transformer].windings[reg.winding - 1].terminal

    terminals: dict[AssetKind, dict[str, Terminal]] = {
        AssetKind.INVERTER: {i.name: i.terminal for i in network.inverters},
        AssetKind.REGULATOR: {r.name: regulated(r) for r in network.regulators},
        AssetKind.CAPACITOR: {c.name: c.terminal for c in network.capacitors},
        AssetKind.SWITCH: {s.name: s.bus1 for s in network.switches},
        AssetKind.LOAD: {ld.name: ld.terminal for ld in network.loads},
    }

    def at(kind: AssetKind) -> _Where:
        table = terminals[kind]
        return lambda name: (table[name].bus, table[name].nodes)

    return {
        AssetKind.BUS: lambda name: (name, nodes_at.get(name, ())),
        **{kind: at(kind) for kind in terminals},
    }


def _phases(nodes: Iterable[int]) -> tuple[Phase, ...]:
    """Phases a, b, c of the nodes 1, 2, 3 among ``nodes``, in phase order."""
    return tuple(_PHASE_OF_NODE[n] for n in sorted(set(nodes)) if n in _PHASE_OF_NODE)


# -- initial app configs -------------------------------------------------------------


def volt_watt_config(network: Network, catalogue: AssetCatalogue | None = None) -> dict[str, Any]:
    """The volt-watt app's config for ``network``: its PV inverters (module docstring).

    Raises
    ------
    ConfigBundleError
        The network has no (enabled, addressable) PV inverter.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> volt_watt_config(load_feeder("streetgrid"))["ders"][:2]
    [{'asset': 'inverter.house02_pv'}, {'asset': 'inverter.house03_pv'}]
    """
    cat = catalogue if catalogue is not None else AssetCatalogue.of(network)
    ders = [{"asset": a} for a, inv in _inverters(cat) if inv.kind is DerKind.PV]
    if not ders:
        raise ConfigBundleError(
            f"network {network.name!r} has no enabled PV inverter for the {VOLT_WATT} app "
            "to control; add PV or leave the app out of the bundle"
        )
    return {"ders": ders}


def der_ev_orchestrator_config(
    network: Network, catalogue: AssetCatalogue | None = None
) -> dict[str, Any]:
    """The DER/EV orchestrator's config: inverters and EV chargers with their ratings.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> config = der_ev_orchestrator_config(load_feeder("streetgrid"))
    >>> config["chargers"][0]["element"], config["inverters"][0]["asset"]
    ('ev_chargers/house04_ev', 'inverter.house01_battery')
    """
    cat = catalogue if catalogue is not None else AssetCatalogue.of(network)
    inverters = [
        {
            "asset": asset_id,
            "element": f"inverters/{inv.name}",
            "kind": inv.kind.value,
            "bus": inv.terminal.bus,
            "phases": [p.value for p in _phases(inv.terminal.nodes)],
            "s_kva": inv.s_kva,
            "p_rated_kw": inv.p_rated_kw if inv.p_rated_kw is not None else inv.s_kva,
            "energy_kwh": inv.energy_kwh,
        }
        for asset_id, inv in _inverters(cat)
    ]
    chargers = [
        {
            "element": f"ev_chargers/{ev.name}",
            "bus": ev.terminal.bus,
            "phases": [p.value for p in _phases(ev.terminal.nodes)],
            "p_max_kw": ev.p_max_kw,
            "bidirectional": ev.bidirectional,
        }
        for ev in network.ev_chargers
    ]
    return {"inverters": inverters, "chargers": chargers}


def _inverters(catalogue: AssetCatalogue) -> list[tuple[str, PowerElectronicsConnection]]:
    return [
        (asset_id, catalogue.inverter(asset_id))
        for asset_id, (kind, _) in catalogue.assets.items()
        if kind is AssetKind.INVERTER
    ]


APP_CONFIG_BUILDERS: Final[dict[str, Callable[[Network, AssetCatalogue], dict[str, Any]]]] = {
    VOLT_WATT: volt_watt_config,
    DER_EV_ORCHESTRATOR: der_ev_orchestrator_config,
}
"""App name → the function generating its initial config from a network."""


def _check_level(value: str, what: str) -> None:
    try:
        check_id(value, what=what)
    except TopicError as exc:
        raise ConfigBundleError(str(exc)) from None
