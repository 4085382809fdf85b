"""Work run beside the calling thread: :class:`Beside` runs a call in a thread of its own
and gives its result (or raises what it raised) when asked.

For work that lets Python's lock go while it runs (DuckDB's queries, ``hashlib``, file
reads, ``fsync``). It is ``concurrent.futures``' one future without its executor, whose
import alone costs a few milliseconds of each command's start; this module imports only the
standard library's ``threading``, so that :mod:`takst.startup` can use it first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Beside(Generic[T]):
    """``call(*args)`` in a thread of its own, started at once. ``daemon``: the process
    may end while it runs (a thread that is not waits for it)."""

    def __init__(self, call: Callable[..., T], *args: Any, name: str = "takst-beside",
                 daemon: bool = True) -> None:
        self._value: list[T] = []
        self._raised: list[BaseException] = []

        def run() -> None:
            try:
                self._value.append(call(*args))
            except BaseException as exc:  # handed to the caller, raised there
                self._raised.append(exc)

        self._thread = threading.Thread(target=run, name=name, daemon=daemon)
        self._thread.start()

    def wait(self) -> None:
        """Wait for the call to end (what it raised is kept for :meth:`result`)."""
        self._thread.join()

    def result(self) -> T:
        """The call's value, once it has ended; what it raised is raised here."""
        self.wait()
        if self._raised:
            raise self._raised[0]
        return self._value[0]
