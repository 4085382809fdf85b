#!/usr/bin/env python3
"""The floor: rules/os2valghalla.tariff written by hand as a plain Python ``Decimal`` function,
with the same CSV I/O as ``takst eval --format csv`` (a csv reader in, a csv writer out).

    python bench/floor_os2.py REGISTER.csv YEAR OUT.csv

It reads a plain register as bench/bench_floor.py writes it (comma separated, UTF-8, ISO
dates, plain integers; no dialect detection and no checks beyond what Python does) and
writes the rows takst writes: id, name, one column per charge (``pending`` when pending),
total, the pending charges. It is what a programmer would write for this one tariff, and so
a floor for what evaluating it can cost in Python.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal

#: The crowdfunding participants (list crowdfunding_2022): no connection fee.
CROWDFUNDING = frozenset({
    "Ballerup", "Brøndby", "Fredericia", "Frederiksberg", "Frederikshavn",
    "Gribskov", "Guldborgsund", "Holbæk", "Horsens", "Kalundborg",
    "Kolding", "København", "Middelfart", "Næstved", "Odense",
    "Ringkøbing-Skjern", "Skive", "Slagelse", "Syddjurs", "Vejen", "Aarhus",
})
#: Annual fee by size band: (member of OS2, not a member).
ANNUAL = (
    (Decimal(23_980), Decimal(29_700)),  # small: up to 25 000 inhabitants
    (Decimal(34_880), Decimal(43_200)),  # medium: 25 001 to 60 000
    (Decimal(45_780), Decimal(56_700)),  # large: 60 001 to 120 000
    (Decimal(56_680), Decimal(70_200)),  # very large: from 120 001
)
CONNECTION = (Decimal(35_000), Decimal(70_000), Decimal(190_000), Decimal(350_000))
QUARTER = Decimal(1) / 4
ZERO = Decimal(0)
TRUE = frozenset({"true", "yes", "ja", "1", "sand", "sann", "sant"})


def band(population: int) -> int:
    if population <= 25_000:
        return 0
    if population <= 60_000:
        return 1
    if population <= 120_000:
        return 2
    return 3


def bill(name: str, population: int, member: bool, joined: dt.date,
         year: int) -> tuple[Decimal, Decimal, Decimal | None]:
    """annual_fee, connection_fee, operations_fee (None: pending) for one municipality."""
    size = band(population)
    annual = ZERO
    if joined.year <= year:  # every year from joined
        annual = ANNUAL[size][0 if member else 1]
        if joined.year == 2023 and year == 2023:
            annual = annual * QUARTER
    connection = ZERO
    operations: Decimal | None = ZERO
    if joined.year == year:  # once, when joined
        connection = ZERO if name in CROWDFUNDING else CONNECTION[size]
        operations = None
    return annual, connection, operations


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def rows(records: Iterable[list[str]], year: int) -> Iterator[list[str]]:
    it = iter(records)
    header = [h.strip() for h in next(it)]
    i_id, i_name = header.index("id"), header.index("name")
    i_pop, i_member = header.index("population"), header.index("os2_member")
    i_joined = header.index("joined")
    for fields in it:
        name = fields[i_name]
        annual, connection, operations = bill(
            name, int(fields[i_pop]), fields[i_member].strip().lower() in TRUE,
            dt.date.fromisoformat(fields[i_joined]), year)
        total = annual + connection + (operations or ZERO)
        yield [fields[i_id], name, money(annual), money(connection),
               "pending" if operations is None else money(operations), money(total),
               "operations_fee" if operations is None else ""]


def main(argv: list[str]) -> int:
    register, year, out = argv[0], int(argv[1]), argv[2]
    with open(register, encoding="utf-8", newline="") as src, \
            open(out, "w", encoding="utf-8", newline="") as dst:
        w = csv.writer(dst, lineterminator="\n")
        w.writerow(["id", "name", "annual_fee", "connection_fee", "operations_fee", "total",
                    "pending"])
        w.writerows(rows(csv.reader(src), year))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
