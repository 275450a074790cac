"""Benchmarks: ``python -m bench <name>`` runs ``bench/<name>.py``; ``python -m bench`` lists them.

Each benchmark module defines ``main(argv: list[str]) -> int`` and prints its figures, starting with
:func:`bench.common.header` so every result says which machine produced it.
"""
