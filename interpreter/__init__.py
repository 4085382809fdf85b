"""Evaluation of checked tariffs, with a trace for every amount."""
