"""Shared machinery of the OpenDSS converter: value access, terminals, unsupported data.

Examples
--------
>>> parse_terminal("671.1.3", n_conductors=2, n_phases=2)
Terminal(bus='671', nodes=(1, 3))
>>> parse_terminal("634", n_conductors=4, n_phases=3, wye_neutral=True)
Terminal(bus='634', nodes=(1, 2, 3))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pydantic import ValidationError

from feederos.errors import DssSyntaxError, NetworkImportError
from feederos.io.opendss._script import DssObject, DssProperty
from feederos.io.opendss._values import (
    as_array,
    as_bool,
    as_float,
    as_float_array,
    as_int,
    as_matrix,
    length_unit,
)
from feederos.model import Terminal

__all__ = [
    "MAX_CONDUCTORS",
    "Context",
    "DssImportWarning",
    "as_array",
    "as_bool",
    "as_count",
    "as_float",
    "as_float_array",
    "as_int",
    "as_matrix",
    "element_errors",
    "fail",
    "length_unit_of",
    "parse_terminal",
]


class DssImportWarning(UserWarning):
    """Parts of an OpenDSS script the converter does not map to the network model."""


@dataclass
class Context:
    """What the converter collects while it runs: unsupported classes and properties."""

    unsupported: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def skip(self, obj: DssObject, prop: DssProperty) -> None:
        """Record a property of ``obj`` that is not mapped."""
        self.unsupported[f"{obj.cls}.{prop.name}"] += 1

    def skip_class(self, cls: str) -> None:
        """Record an object of a class that is not mapped."""
        self.unsupported[f"{cls} (class)"] += 1


def fail(obj: DssObject, message: str, prop: DssProperty | None = None) -> DssSyntaxError:
    """An error naming the file, line and element."""
    where = prop.where if prop is not None else obj.where
    what = f"{obj.cls}.{obj.name}" + (f" {prop.name}={prop.value!r}" if prop is not None else "")
    return DssSyntaxError(f"{what}: {message}", file=where.file, line=where.line)


#: The most conductors (phases, windings, positions) one element may have; more is
#: taken to be a typing error rather than a network (and would exhaust memory).
MAX_CONDUCTORS = 100


def as_count(obj: DssObject, prop: DssProperty, *, minimum: int = 1) -> int:
    """Return a count of phases, conductors or windings, from ``minimum`` to 100."""
    value = as_int(prop)
    if not minimum <= value <= MAX_CONDUCTORS:
        raise fail(obj, f"expected a whole number from {minimum} to {MAX_CONDUCTORS}", prop)
    return value


def length_unit_of(obj: DssObject, prop: DssProperty) -> str:
    """Return the canonical length unit a ``units``-like property gives."""
    try:
        return length_unit(prop.value)
    except DssSyntaxError as exc:
        raise fail(obj, exc.message, prop) from None


#: Model field -> the OpenDSS properties it is computed from (to point at the line).
FIELD_PROPERTIES: dict[str, tuple[str, ...]] = {
    "length_km": ("length", "units"),
    "v_kv": ("kv", "kvs", "basekv", "kvrated"),
    "v_pu": ("pu",),
    "s_kva": ("kva", "kvas", "kvar"),
    "p_kw": ("kw", "pmpp"),
    "p_rated_kw": ("kw", "kwrated", "pmpp"),
    "p_max_kw": ("kw", "kwrated", "pmpp"),
    "q_kvar": ("kvar",),
    "pf": ("pf",),
    "phases": ("phases", "nphases", "linecode", "geometry", "spacing"),
    "n_phases": ("nphases",),
    "n_conductors": ("nconds",),
    "nodes": ("bus1", "bus2", "bus", "buses"),
    "bus": ("bus1", "bus2", "bus", "buses"),
    "terminal": ("bus1", "bus", "buses"),
    "mva_sc3": ("mvasc3", "isc3"),
    "mva_sc1": ("mvasc1", "isc1"),
    "r_pct": ("%r", "%rs", "%loadloss"),
    "tap_pu": ("tap", "taps"),
    "min_tap_pu": ("mintap",),
    "max_tap_pu": ("maxtap",),
    "n_taps": ("numtaps",),
    "xhl_pct": ("xhl", "x12", "xscarray"),
    "xht_pct": ("xht", "x13", "xscarray"),
    "xlt_pct": ("xlt", "x23", "xscarray"),
    "no_load_loss_pct": ("%noloadloss",),
    "magnetizing_pct": ("%imag",),
    "normal_kva": ("normhkva", "kva", "kvas"),
    "emergency_kva": ("emerghkva", "kva", "kvas"),
    "ampacity_normal_a": ("normamps",),
    "ampacity_emergency_a": ("emergamps",),
    "rated_current_a": ("normamps", "ratedcurrent"),
    "earth_resistivity_ohm_m": ("rho",),
    "r_ac_ohm_per_km": ("rac", "rdc", "runits"),
    "r_dc_ohm_per_km": ("rdc", "runits"),
    "gmr_m": ("gmrac", "radius", "diam", "gmrunits"),
    "radius_m": ("radius", "diam", "gmrac", "radunits"),
    "capradius_m": ("capradius",),
    "eps_r": ("epsr",),
    "insulation_layer_m": ("inslayer",),
    "diameter_insulation_m": ("diains",),
    "diameter_cable_m": ("diacable",),
    "diameter_shield_m": ("diashield",),
    "tape_layer_m": ("tapelayer",),
    "tape_lap_pct": ("tapelap",),
    "k_strands": ("k",),
    "strand_diameter_m": ("diastrand",),
    "strand_gmr_m": ("gmrstrand",),
    "strand_r_ohm_per_km": ("rstrand",),
    "v_set_v": ("vreg",),
    "band_v": ("band",),
    "pt_ratio": ("ptratio",),
    "ct_primary_a": ("ctprim",),
    "delay_s": ("delay",),
    "tap_delay_s": ("tapdelay",),
    "max_tap_change": ("maxtapchange",),
    "v_limit_v": ("vlimit",),
    "tap_winding": ("tapwinding",),
    "remote_pt_ratio": ("remoteptratio",),
    "rev_v_set_v": ("revvreg",),
    "rev_band_v": ("revband",),
    "rev_delay_s": ("revdelay",),
    "kvar_max": ("kvarmax",),
    "kvar_max_abs": ("kvarmaxabs",),
    "cut_in_pct": ("%cutin",),
    "cut_out_pct": ("%cutout",),
    "p_max_pct": ("%pmpp",),
    "v_low_pu": ("vlowpu",),
    "winding": ("winding",),
    "x_m": ("x", "units"),
    "h_m": ("h", "units"),
    "r_ohm": ("r", "r1", "rmatrix"),
    "x_ohm": ("x", "x1", "xmatrix"),
    "c_nf": ("c1", "cmatrix"),
    "c0_nf": ("c0",),
    "frequency_hz": ("basefreq", "frequency"),
    "energy_kwh": ("kwhrated",),
    "p_mult": ("mult", "pmult", "npts"),
    "interval_h": ("interval", "sinterval", "minterval"),
}


def _pydantic_problems(
    obj: DssObject, exc: ValidationError
) -> tuple[list[str], DssProperty | None]:
    """One ``field: message (from property p=v)`` text per problem; the first property."""
    texts: list[str] = []
    first: DssProperty | None = None
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        names = [part for part in loc if not part.isdigit()]
        field_name = ".".join(loc) or "(element)"
        message = str(error["msg"]).removeprefix("Value error, ")
        prop = None
        if names:
            for candidate in FIELD_PROPERTIES.get(names[-1], ()):
                prop = obj.get_property(candidate)
                if prop is not None:
                    break
        origin = f" (from property {prop.name}={prop.value})" if prop is not None else ""
        texts.append(f"{field_name}: {message}{origin}")
        first = first or prop
    return texts, first


@contextmanager
def element_errors(obj: DssObject) -> Iterator[None]:
    """Report any failure to convert ``obj`` as a NetworkImportError naming it.

    Model validation errors name the model field, the OpenDSS property it came from
    and the line that property was set on; errors without a location get the line the
    object was defined on; errors of a value (which name file, line and property) get
    the element's name.
    """
    what = f"{obj.cls}.{obj.name}"
    try:
        yield
    except NetworkImportError as exc:
        named = exc.message.startswith((f"{what}:", f"{what} "))
        if named and exc.file is not None:
            raise
        file, line = (obj.where.file, obj.where.line) if exc.file is None else (exc.file, exc.line)
        message = exc.message if named else f"{what}: {exc.message}"
        raise type(exc)(message, file=file, line=line) from exc
    except ValidationError as exc:
        texts, prop = _pydantic_problems(obj, exc)
        where = obj.where if prop is None else prop.where
        raise NetworkImportError(
            f"{what}: " + "; ".join(texts), file=where.file, line=where.line
        ) from exc
    except ArithmeticError as exc:
        raise NetworkImportError(
            f"{what}: a value is out of range ({type(exc).__name__}: {exc}); check its numbers",
            file=obj.where.file,
            line=obj.where.line,
        ) from exc
    except (ValueError, LookupError) as exc:
        raise NetworkImportError(
            f"{what}: {exc}", file=obj.where.file, line=obj.where.line
        ) from exc


def parse_terminal(
    text: str, *, n_conductors: int, n_phases: int, wye_neutral: bool = False
) -> Terminal:
    """Read ``bus.n1.n2...`` with OpenDSS's defaults for the nodes not given.

    As OpenDSS's ``ProcessBusDefs``: conductor ``i`` up to the phase count defaults to
    node ``i``, every conductor beyond it to ground (0); the nodes given replace the
    defaults from the first conductor on. So a single-phase delta element on ``832.2``
    spans node 2 and ground. A wye element's absent neutral is left out (ground in the
    model); other elements keep all their conductors.
    """
    for count in (n_conductors, n_phases):
        if not 1 <= count <= MAX_CONDUCTORS:
            raise ValueError(
                f"bus {text!r} with {count} phases or conductors; expected 1 to {MAX_CONDUCTORS}"
            )
    bus, *rest = text.strip().lower().split(".")
    try:
        given = [int(n) for n in rest if n != ""]
    except ValueError:
        raise ValueError(f"bus {text!r}: nodes must be whole numbers, as in 'b1.1.2'") from None
    nodes = [i + 1 if i < n_phases else 0 for i in range(n_conductors)]
    for i, node in enumerate(given[:n_conductors]):
        nodes[i] = node
    keep = max(n_phases, min(len(given), n_conductors))
    if not wye_neutral:
        keep = n_conductors
    return Terminal(bus=bus, nodes=tuple(nodes[:keep]))
