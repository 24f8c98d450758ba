"""Measuring one insert: timing, the runner, captures, peak memory, the ladder and the suite's configuration."""
