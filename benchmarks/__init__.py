"""asv benchmarks for bulkinsert: one module per concern, shared helpers in common.py."""
