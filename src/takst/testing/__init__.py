"""Tariffs as executable specs: example blocks, declared properties, the pytest plugin."""
