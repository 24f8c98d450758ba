"""Insert strategies, one decorated function each; importing this package registers them all."""

from . import orm, core, dbapi, copy, peers, reference, upsert  # noqa: F401, I001  (registry order)
