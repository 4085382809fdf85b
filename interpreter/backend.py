"""The interface every engine implements.

An engine gives a checked tariff its meaning over customers: the reference
tracing interpreter (:class:`takst.interpreter.evaluator.InterpreterEngine`) is
the first; compiled engines (``interpreter/batch/``) implement the same
interface and never import the interpreter. Front ends reach engines only
through the session (:mod:`takst.session`).

The work is two passes over the customers, so that a register of any size is
billed with bounded memory:

1. :meth:`Engine.prepare` reads every customer once and computes the values of
   the whole evaluation (aggregates, pools), after validating what only the
   tariff can see (customer types, services). It keeps only what those values
   need, never the customers themselves.
2. :meth:`Engine.evaluate` streams one result per customer, in input order, as
   each is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from takst.interpreter.model import Context, Customer, CustomerResult, Value


class Engine(Protocol):
    """A way to compute a checked tariff's amounts."""

    #: The engine's name as the session and the manifest record it (``interpreter``, ``duckdb``).
    name: str

    def prepare(
        self,
        customers: Iterable[Customer],
        year: int,
        *,
        settings: Mapping[str, Value] | None = None,
        register: str | None = None,
    ) -> Context:
        """Register-wide values for ``year`` from one pass over ``customers``.

        Raises :class:`~takst.dsl.errors.RegisterError` listing every customer problem,
        or :class:`~takst.dsl.errors.EvaluationError` for a value that cannot be found.
        """
        ...

    def evaluate(
        self,
        customers: Iterable[Customer],
        year: int,
        context: Context,
        *,
        trace: bool = False,
    ) -> Iterator[CustomerResult]:
        """One result per customer, in order, computed lazily as the caller consumes them."""
        ...
