"""Qiqiao's domain engine: definitions, formulas, records, flows, rules, reports.

Nothing here imports Flask, ``runtime`` or ``builder``; every part runs headless.
"""
