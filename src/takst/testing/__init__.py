"""Tariffs as executable specs: example blocks, declared properties, the pytest plugin."""

#: Cases Hypothesis tries per declared property, unless told otherwise.
DEFAULT_CASES = 200
