"""Benchmarks: each prints a table and writes it to bench/results/<name>.json.

Every benchmark measures its baseline in the same run as the code under test, so the ratio
means something on whatever machine it runs on. Run all with `python -m bench`, one with
`python -m bench <name>`.
"""
