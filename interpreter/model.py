"""What an evaluation works on: customers and the values of the whole evaluation.

Plain data, shared by every engine (the reference interpreter and the batch
engines) and by the applications that build customers from registers or values.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import attrs

from takst.interpreter.trace import Value


@attrs.frozen
class Customer:
    """One customer: the register's id and name, a value per input, its type and services."""

    id: str
    name: str
    values: Mapping[str, Value]
    customer_type: str = ""
    origin: str = "command line"
    #: Charges this customer uses (the register's ``services`` column); None: all.
    services: frozenset[str] | None = None


@attrs.frozen
class PoolShares:
    """A pool computed over a register: its total, key sum and each member's share."""

    total: Fraction
    key_sum: Fraction
    members: int
    #: customer id -> (exact share, share after rounding)
    shares: Mapping[str, tuple[Fraction, Fraction]]
    text: str


@attrs.frozen
class Context:
    """Values for the whole evaluation: settings, aggregates and pools."""

    settings: Mapping[str, Value] = attrs.field(factory=dict)
    #: aggregate name -> (value, how it was found)
    aggregates: Mapping[str, tuple[Fraction, str]] = attrs.field(factory=dict)
    pools: Mapping[str, PoolShares] = attrs.field(factory=dict)
    register: str | None = None
