"""The records of a verdict: a pair of figures being judged, the finding it gives, and a run's total.

Split from :mod:`bulkinsert.analysis.verdicts` (the rules) so both ``compare`` and the site read one
definition of what a finding holds (``compare --json`` writes :meth:`Finding.as_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import stats
from . import status as status_
from .metrics import Metric
from .results import DEFAULT_WORKLOAD, Figure

DEFAULT_THRESHOLD = 0.10  # unconfirmed differences smaller than this are not listed
RUN = "run"  # the "library" of a baseline comparison


@dataclass
class Finding:
    """One metric of one path, between two environments that differ in one library."""

    machine: str
    commit: str
    benchmark: str
    metric: str
    strategy: str | None
    rows: int | None
    params: dict[str, str]
    library: str
    old: str
    new: str
    context: dict[str, str]  # the other varying libraries, held equal
    environment: tuple[tuple[str, str], ...]  # results.environment_key of the NEW environment
    old_value: float | None  # None: not measured (status findings)
    new_value: float | None
    ratio: float | None  # NEW / OLD (Hodges–Lehmann estimate when samples were compared); None for status
    unit: str | None
    change: str  # "slower"/"faster" (timings, memory), "more"/"fewer" (counts), "failed"/"broken"/"fixed"
    verdict: str  # "regression", "improvement", "changed" or "unconfirmed"
    confirmed: bool
    reason: str
    p_value: float | None = None
    test: str | None = None  # the rank test behind p_value (stats.SampleVerdict.test)
    ratio_ci: tuple[float, float] | None = None
    old_samples: dict[str, float] | None = None  # stats.SampleSummary of each side
    new_samples: dict[str, float] | None = None
    replicates: list[dict[str, Any]] = field(default_factory=list)
    rerun: str | None = None  # the side-by-side command that settles an unconfirmed timing
    old_status: str = status_.OK
    new_status: str = status_.OK
    # The rest of the figures' identity (results.Identity): the driver the path ran on (always
    # resolved), its workload, and the path as every line names it ("orm_basic on asyncpg").
    driver: str | None = None
    workload: str = DEFAULT_WORKLOAD
    label: str = ""

    @property
    def step(self) -> tuple[str, str, str]:
        return (self.library, self.old, self.new)

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["environment"] = dict(self.environment)
        data["ratio_ci"] = list(self.ratio_ci) if self.ratio_ci else None
        return data


@dataclass
class Pair:
    """Two figures to compare, and what the comparison found (change "same" when nothing)."""

    library: str
    old_label: str
    new_label: str
    context: tuple[tuple[str, str], ...]
    old: Figure
    new: Figure
    environment: tuple[tuple[str, str], ...]  # results.environment_key of NEW
    change: str = "same"
    tested: bool = False  # the change is established by a test (samples) or is deterministic
    ratio: float = 1.0
    reason: str = ""
    sample_verdict: stats.SampleVerdict | None = None

    @property
    def works(self) -> bool:
        """Both figures measured: the pair compares values, not statuses."""
        return self.old.works and self.new.works

    @property
    def round_labels(self) -> dict[str, tuple[int, ...] | None]:
        """The rounds the rank test may block on (``stats.compare_samples``' keyword arguments).

        Only the two figures of one run: there round ``r`` of OLD and of NEW ran in the same pass
        over the environments (asv's interleaved rounds), so they share its minute. The two runs of
        a baseline comparison share no round: blocking on the round's number there cancels nothing.
        """
        if self.library == RUN:
            return {"old_rounds": None, "new_rounds": None}
        return {"old_rounds": self.old.rounds, "new_rounds": self.new.rounds}


@dataclass
class Comparison:
    """Everything a compare run found, plus what it could not compare."""

    findings: list[Finding]
    skipped_commit_pairs: int  # environment pairs measured at different commits
    libraries: list[str]
    pairs: int  # figure pairs compared
    threshold: float = DEFAULT_THRESHOLD


def finding_of(pair: Pair, metric: Metric, verdict: str, confirmed: bool, reason: str,
               rerun: str | None = None) -> Finding:
    """The finding of a judged pair."""
    old, new = pair.old, pair.new
    sample = pair.sample_verdict
    identity = new.identity
    return Finding(
        machine=new.machine,
        commit=new.commit,
        benchmark=new.benchmark,
        metric=metric.name,
        strategy=new.strategy,
        rows=new.rows,
        params=dict(new.params),
        library=pair.library,
        old=pair.old_label,
        new=pair.new_label,
        context=dict(pair.context) if pair.library != RUN else {},
        environment=pair.environment,
        old_value=old.value,
        new_value=new.value,
        ratio=pair.ratio if pair.works else None,
        unit=new.unit,
        change=pair.change,
        verdict=verdict,
        confirmed=confirmed,
        reason=reason,
        p_value=sample.p_value if sample else None,
        test=sample.test if sample else None,
        ratio_ci=sample.ratio_ci if sample else None,
        old_samples=sample.as_dict()["old"] if sample else None,
        new_samples=sample.as_dict()["new"] if sample else None,
        rerun=None if confirmed else rerun,
        old_status=old.status,
        new_status=new.status,
        driver=identity.driver,
        workload=identity.workload,
        label=identity.label,
    )


