"""takst: a declarative tariff language for shared public IT services.

The pipeline, one home per stage: text -> parse (:mod:`takst.dsl.parser`) ->
check (:mod:`takst.dsl.checker`) -> evaluate (:mod:`takst.interpreter.evaluator`)
-> trace and report (:mod:`takst.interpreter.trace`, :mod:`takst.render.report`).
"""

__version__ = "0.1.0"
