"""The checker moved to :mod:`takst.dsl.check`; this module re-exports what was
imported from it, so existing imports keep working until they are switched."""

from __future__ import annotations

from takst.dsl.check import analyse_bands, check, errors_of
from takst.dsl.check.conditions import disjoint as _disjoint
from takst.dsl.intervals import band_interval

__all__ = ["_disjoint", "analyse_bands", "band_interval", "check", "errors_of"]
