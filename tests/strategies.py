"""Hypothesis strategies for customers of the seed tariffs, in one place."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from takst.interpreter.model import Customer

#: The crowdfunding participants of seed 001 and a few that are not.
NAMES = ["Kolding", "Aarhus", "København", "Læsø", "Vejle", "Aalborg", "Herning", "Odense"]

populations = st.integers(min_value=0, max_value=2_000_000).map(Decimal)
#: Values on and next to every published boundary are drawn often.
boundary_populations = st.sampled_from(
    [0, 1, 4_999, 5_000, 9_999, 10_000, 24_999, 25_000, 25_001, 60_000, 60_001,
     120_000, 120_001]
).map(Decimal)
any_population = st.one_of(populations, boundary_populations)
dates = st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2026, 12, 31))
years = st.integers(min_value=2018, max_value=2026)


@st.composite
def os2_customers(draw: st.DrawFn) -> Customer:
    return Customer(
        id=str(draw(st.integers(100, 999))),
        name=draw(st.sampled_from(NAMES)),
        values={
            "population": draw(any_population),
            "os2_member": draw(st.booleans()),
            "joined": draw(dates),
        },
    )


@st.composite
def kongsberg_customers(draw: st.DrawFn) -> Customer:
    return Customer(
        id="k",
        name="k",
        values={"population": draw(any_population), "joined": draw(dates)},
    )
