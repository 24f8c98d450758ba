"""asv benchmarks for bulkinsert: one module per measurement.

Shared: sizes.py (knobs, sizes, what runs where), base.py (base classes), track_pass.py (the
track metrics' one measuring pass) and faults.py (planted faults, status notes).
"""
