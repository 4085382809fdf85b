"""takst: a declarative tariff language for shared public IT services.

The pipeline, one home per stage: text -> parse and check (:mod:`takst.dsl`) ->
evaluate with an engine (:mod:`takst.interpreter`) -> render
(:mod:`takst.render`). Programs and front ends use it through one session,
:mod:`takst.session` (``Session``, ``Request``).
"""

__version__ = "0.1.0"
