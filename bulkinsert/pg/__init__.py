"""The embedded PostgreSQL server: its processes, databases, DSNs, measuring turns, CPU placement, connections."""
