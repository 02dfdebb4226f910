"""Maintenance scripts (run from the repository root, e.g. ``python -m scripts.refresh_brackets``)."""
