"""Manifests that record how a result was made, and ``verify`` that replays them."""
