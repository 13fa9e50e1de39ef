"""Benchmarks; run ``python bench/routing.py`` (or ``make bench``)."""
