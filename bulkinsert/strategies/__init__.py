"""Insert strategies, one decorated function each; importing this package registers them all."""

from . import orm, core, dbapi, copy, peers, reference, upsert, driver_paths  # noqa: F401, I001  (registry order)

# Not strategies: each strategy's path for the typed ``wide`` workload (wide_peers builds on wide).
from . import wide, wide_peers  # noqa: F401, E402, I001
