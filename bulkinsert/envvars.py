"""Every ``BULKINSERT_*`` environment variable the project reads, declared once.

The modules that read a variable keep reading it where they need it (``os.environ`` next to
the code that uses it); this table is what they mean, their defaults and who reads them. The
reference page ``docs/reference/environment.md`` is rendered from it, and
``tests/test_docs.py`` fails when the source tree names a ``BULKINSERT_*`` variable that is not
declared here, or when a declared one is no longer read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name, its default (as text) and what it does."""

    name: str
    default: str
    meaning: str
    read_by: str
    group: str


SERVER = "The database server"
MEASURING = "Measuring"
SUITE = "The asv suite: sizes and selection"
RELEASES = "Release tools and findings"
PLANTED = "Planted faults (tests of the verdicts)"
TESTS = "Tests"

GROUPS = (SERVER, MEASURING, SUITE, RELEASES, PLANTED, TESTS)

ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar("BULKINSERT_DSN", "unset: the embedded server",
           "Use this existing PostgreSQL instead of the embedded one (URL or key=value DSN). Its "
           "password is never printed. Statement counts need `pg_stat_statements` on it.",
           "bulkinsert.pg.dsn, bulkinsert.pg.server", SERVER),
    EnvVar("BULKINSERT_DATABASE", "`bulkinsert`",
           "The database on the server. The asv suite uses `bulkinsert_asv` (`bulkinsert_run_<pid>` "
           "under `make bench`), the tests `bulkinsert_test_<pid>`, the release workers "
           "`bulkinsert_releases`.",
           "bulkinsert.pg.server, bulkinsert.releases.workers, benchmarks", SERVER),
    EnvVar("BULKINSERT_DATA_DIR", "`<checkout>/.pgdata`",
           "The embedded server's data directory.", "bulkinsert.pg.server, benchmarks", SERVER),
    EnvVar("BULKINSERT_SERVER_LINGER", "`20`",
           "Seconds the embedded server stays up after its last registered user exits.",
           "bulkinsert.pg.processes", SERVER),
    EnvVar("BULKINSERT_TURNS", "`1`",
           "`0` switches the server's measuring turn (one measurement per server at a time) off, "
           "for a process whose inserts are not measurements; the test suite sets it.",
           "bulkinsert.pg.turns", MEASURING),
    EnvVar("BULKINSERT_PLACEMENT", "`same-cpu`",
           "CPU placement of client and embedded server for every timed insert: `same-cpu`, "
           "`split` or `none` (`--placement` on `run` and `ladder`). asv.conf.json sets it for "
           "the suite, so it is recorded in every result.",
           "bulkinsert.pg.placement", MEASURING),
    EnvVar("BULKINSERT_ALLOWED_CPUS", "unset: the CPUs the process first saw",
           "Set by the package for its child processes: the CPUs the parent was allowed before "
           "it pinned itself (comma-separated). Not meant to be set by hand.",
           "bulkinsert.pg.placement", MEASURING),
    EnvVar("BULKINSERT_STRATEGIES_FROM", "unset",
           "A Python file of your own strategies (and workloads) to register in every tool, the "
           "asv suite included (an absolute path there: asv runs from a temporary directory).",
           "bulkinsert.user_strategies", MEASURING),
    EnvVar("BULKINSERT_CALLGRIND_HELPER", "set by the package",
           "The compiled callgrind client-request helper, passed by the instruction counter to its "
           "measuring process under valgrind. Not meant to be set by hand.",
           "bulkinsert.measure.instructions", MEASURING),
    EnvVar("BULKINSERT_CALLGRIND_OUT", "set by the package",
           "callgrind's dump file base (`--callgrind-out-file`) for the instruction counter's "
           "measuring process. Not meant to be set by hand.", "bulkinsert.measure.instructions", MEASURING),
    EnvVar("BULKINSERT_ENVIRONMENT_PAD", "set by the package",
           "Padding that brings the instruction counter's measuring process's variables to a fixed "
           "size, so its initial stack starts at the same address on every run. Not meant to be set by hand.",
           "bulkinsert.measure.instructions", MEASURING),
    EnvVar("BULKINSERT_QUICK", "`0`",
           "`1`: the quick run (`make bench ASV_ARGS=--quick` sets it): every figure at 1,000 rows, "
           "6-10 samples per timing, one track round, no peak memory, no scale suite, no "
           "`populated` workload.", "benchmarks", SUITE),
    EnvVar("BULKINSERT_TIME_ROWS", "`1000,10000` (quick: `1000`)",
           "Row counts of the `time_insert` benchmarks (comma-separated, the same for a whole run).",
           "benchmarks", SUITE),
    EnvVar("BULKINSERT_INSTRUCTION_ROWS", "`100`",
           "Row counts of `track_instructions` (comma-separated; quick and full runs alike).",
           "benchmarks", SUITE),
    EnvVar("BULKINSERT_LARGE_ROWS", "`100000`",
           "Row counts of `insert_large` (`make bench-large`).", "benchmarks", SUITE),
    EnvVar("BULKINSERT_MEMORY_ROWS", "`BULKINSERT_LARGE_ROWS`",
           "Row counts of `insert_memory`'s peak-memory figures.", "benchmarks", SUITE),
    EnvVar("BULKINSERT_TRACK_ROWS", "`10000` (quick: `1000`)",
           "Row counts of the `track_` metrics (statements, calls, shares, rows/s, CPU).",
           "benchmarks", SUITE),
    EnvVar("BULKINSERT_TRACK_ROUNDS", "`2` (quick: `1`)",
           "Interleaved rounds of the track pass that feeds every `track_` metric.",
           "benchmarks", SUITE),
    EnvVar("BULKINSERT_WORKLOAD_ROWS", "`10000` (quick: `1000`)",
           "Row counts of `workload_time` (`wide` and `populated`).", "benchmarks", SUITE),
    EnvVar("BULKINSERT_POPULATED_PRESENT", "`100000`",
           "Rows already in `users` before each timed load of the `populated` workload in the "
           "asv suite.", "benchmarks", SUITE),
    EnvVar("BULKINSERT_SCALE_EVERYWHERE", "unset",
           "`1` runs the scale suite in every environment, not only the matrix's newest.",
           "benchmarks", SUITE),
    EnvVar("BULKINSERT_RELEASE_ENVS", "`<checkout>/.asv/release-envs`",
           "Where `bulkinsert releases` builds one environment per release.",
           "bulkinsert.releases.envs", RELEASES),
    EnvVar("BULKINSERT_FINDINGS", "`<checkout>/.asv/releases/findings.jsonl`",
           "The findings file that `releases bisect|compare|watch` and sweeps append to, and that "
           "`compare` and the site read.", "bulkinsert.analysis.findingrecords", RELEASES),
    EnvVar("BULKINSERT_COMMIT_FIGURES", "`.asv/releases/commit-figures.jsonl`",
           "The file of figures by commit that `releases watch --source` keeps (what it measured "
           "last, so a second run measures only new commits) and the releases page reads.",
           "bulkinsert.releases.commitwatch", RELEASES),
    EnvVar("BULKINSERT_PLANT_SLOWDOWN", "unset",
           "`STRATEGY:FACTOR[,…]`, each optionally ending in `@LIBRARY==VERSION`: makes every timed "
           "insert of the strategy take FACTOR times as long (the asv suite and the release "
           "worker), to check that a verdict finds a known change.",
           "bulkinsert.measure.planted, bulkinsert.releases.worker", PLANTED),
    EnvVar("BULKINSERT_PLANT_FAULT", "unset",
           "`STRATEGY:raise` or `STRATEGY:wrong-rows` (optionally `@LIBRARY==VERSION`): the insert "
           "raises (status `failed`) or loses one row (status `broken`).",
           "bulkinsert.measure.planted", PLANTED),
    EnvVar("BULKINSERT_PLANT_WORK", "unset",
           "`STRATEGY:UNITS[,…]` (optionally `@LIBRARY==VERSION`): after the strategy's insert, UNITS "
           "units of pure-Python CPU work per row (a fixed loop, never a sleep): a client slowdown "
           "the instruction counts must find.",
           "bulkinsert.measure.planted, bulkinsert.measure.instructions", PLANTED),
    EnvVar("BULKINSERT_TEST_EXTRA_CALLS", "unset",
           "`RELEASE:CALLS_PER_ROW,...`: the release-tool tests' planted strategy "
           "`counted_by_release` makes that many extra Python calls per row in those SQLAlchemy "
           "releases.", "tests/data/release_paths.py", TESTS),
    EnvVar("BULKINSERT_TEST_MARKERS", "unset",
           "A folder where the release-tool tests' planted strategies `dies_once` and "
           "`always_dies` leave their markers.", "tests/data/release_paths.py", TESTS),
    EnvVar("BULKINSERT_SQLALCHEMY_CLONE", "unset: those tests skip, saying so",
           "A local clone of SQLAlchemy's repository: the commit-axis tests bisect its real "
           "history (tags `rel_2_0_46`, `rel_2_0_47`).", "tests/test_commit_bisect.py", TESTS),
    EnvVar("BULKINSERT_CHROMIUM", "`/usr/bin/chromium`",
           "The Chromium binary the browser test drives.", "tests/test_browser.py", TESTS),
)

BY_NAME = {variable.name: variable for variable in ENVIRONMENT}
