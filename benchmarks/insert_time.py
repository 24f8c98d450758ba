"""Wall time of one insert, the number the talk is about."""

from __future__ import annotations

from bulkinsert import compat, registry

from .base import InsertBenchmark, database, names_of, ready
from .sizes import ROWS, SLOW_LIMIT_ROWS, driver_axis_elsewhere


class InsertTime(InsertBenchmark):
    """Seconds for one strategy to insert ``rows`` names into an empty table and commit.

    Setup (engine, TRUNCATE, the strategy's own connection) runs before every sample and is
    not timed; ``number = 1`` so each timed insert starts from an empty table.
    """

    def time_insert(self, strategy: str, rows: int) -> None:
        """``strategy`` inserts ``rows`` USER names into the emptied users table and commits."""
        self.insert(self.strategy, self.names)


# The SQLAlchemy paths, each on every driver SQLAlchemy reaches PostgreSQL through (2.1 made
# ``postgresql://`` mean psycopg 3). At the talk's size only: a driver x path grid at 100,000
# rows would take the run's budget. InsertTime above stays the psycopg2 series. asv runs this
# suite against older commits' packages too: one without the driver axis has no such cells.
SQLALCHEMY_PATHS = [name for name, strategy in registry.load().items() if len(getattr(strategy, "drivers", ())) > 1]
# psycopg2 is not among them: InsertTime (and the track metrics) measure it at the same size, in
# the same environment and run; the drivers page reads it there (bulkinsert/site/drivers.py).
DRIVERS = [driver for driver in getattr(compat, "SQLALCHEMY_DRIVERS", ()) if driver != "psycopg2"]
DRIVER_ROWS = [rows for rows in ROWS if rows <= SLOW_LIMIT_ROWS][-1:] or ROWS[:1]
# None, or why this environment leaves the axis to another (psycopg2 not the matrix's newest).
DRIVER_AXIS_ELSEWHERE = driver_axis_elsewhere()


class InsertTimeByDriver(InsertBenchmark):
    """Seconds for one SQLAlchemy path on one driver to insert ``rows`` names (as InsertTime)."""

    params = [SQLALCHEMY_PATHS, DRIVER_ROWS, DRIVERS]
    param_names = ["strategy", "rows", "driver"]

    def setup(self, strategy: str, rows: int, driver: str) -> None:  # type: ignore[override]
        if DRIVER_AXIS_ELSEWHERE is not None:
            raise NotImplementedError(f"{strategy} on {driver}: {DRIVER_AXIS_ELSEWHERE}")
        self.strategy = self.runnable(strategy, rows).with_driver(driver)
        reason = self.strategy.unsupported_reason()
        if reason is not None:
            raise NotImplementedError(f"{self.strategy.label}: {reason}")
        self.names = names_of(rows)
        self.db = database(instrument=False)
        ready(self.db, self.strategy, self.names)
        self.inserted = False

    def teardown(self, strategy: str, rows: int, driver: str) -> None:  # type: ignore[override]
        super().teardown(strategy, rows)

    def time_insert(self, strategy: str, rows: int, driver: str) -> None:
        """``strategy`` on ``driver``'s engine inserts ``rows`` USER names into the emptied users table."""
        self.insert(self.strategy, self.names)
