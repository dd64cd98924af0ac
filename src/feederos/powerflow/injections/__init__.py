"""Voltage-dependent elements: loads, generators, PV and storage inverters."""

from feederos.powerflow.injections.base import InjectionSet, numeric_jacobian

__all__ = ["InjectionSet", "numeric_jacobian"]
