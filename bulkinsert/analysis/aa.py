"""The false-alarm rate of timing verdicts, measured on A/A comparisons: identical environments.

Give it two or more asv results directories measured from the same environments at the same
commit (nothing changed between them, so every "slower" is a false alarm), e.g. repeated quick
runs, or the recorded runs under ``tests/data/asv_samples``::

    python -m bulkinsert.analysis.aa tests/data/asv_samples/{first,second,planted} --ignore copy_text

(``--ignore`` leaves out a strategy with a planted slow-down.) Every ordered pair of runs is one
A/A comparison (``compare --baseline``); ``--resamples N`` adds N more, each environment drawing
its own ordered pair of runs (seeded). Two runs share no round, so these pairs are judged as
``compare --baseline`` judges them: on pooled samples.

``--within`` measures the other kind of A/A pair instead, the one a release step's blocked test
meets: inside each run, a path's figures in two environments that differ only in a library the
path does not use (a psycopg 3 or asyncpg path across a psycopg2 step, a peer across a
SQLAlchemy step: :func:`bulkinsert.analysis.controls.uses_library`), old release first. With
interleaved rounds round ``r`` of both was measured in the same pass, and the rank test blocks
on it as ``compare`` does (one results directory is enough). For every comparison it counts,
over the timing pairs with samples on both sides:

* ``blocked``: pairs whose samples carry their rounds on both sides, so the rank test is
  blocked on the round (van Elteren, :func:`bulkinsert.analysis.stats.compare_samples`);
  ``--samples-per-round K`` states the rounds' size for results that do not record it
  (:func:`bulkinsert.analysis.results.round_labels`);
* ``pooled``: pairs the pooled Mann–Whitney test alone calls slower (the test without rounds);
* ``rank test``: pairs the rank test ``compare`` uses (blocked where the rounds are known)
  alone calls slower at ``alpha`` (p < alpha, beyond the minimum effect): what the test's
  nominal rate promises is at most alpha / 2 each way;
* ``at the family level``: the same held to its family's Benjamini–Hochberg level, as
  ``compare`` holds it (:mod:`bulkinsert.analysis.families`);
* ``confirmed``: confirmed regressions of ``compare``'s whole rule (replicates, controls, the
  family level): every one is a false alarm.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import stats
from .controls import uses_library
from .families import PER_PAIR
from .results import Figure, load_figures, version_key
from .verdicts import compare_figures


@dataclass(frozen=True)
class Tally:
    """One A/A comparison's counts."""

    name: str
    pairs: int  # timing pairs with samples on both sides
    blocked: int  # ... of which both sides carry their rounds (the blocked test)
    pooled_slower: int  # the pooled Mann-Whitney test alone calls slower
    rank_slower: int  # p < alpha and beyond the minimum effect, slower
    family_slower: int  # ... below the family's Benjamini-Hochberg level
    confirmed: int | None  # confirmed timing regressions of compare's whole rule (None: --within)


def _key(figure: Figure) -> tuple:
    return (figure.machine, figure.benchmark, figure.params, figure.requirements)


def _family(figure: Figure) -> tuple:
    return (figure.machine, figure.benchmark, tuple(p for p in figure.params if p[0] not in PER_PAIR))


def tally(name: str, baseline: Sequence[Figure], current: Sequence[Figure], alpha: float,
          min_effect: float) -> Tally:
    """Count the false alarms of one A/A comparison (``current`` against ``baseline``)."""
    before = {_key(f): f for f in baseline if f.samples and f.works}
    judged = []
    for figure in current:
        old = before.get(_key(figure))
        if old is None or not figure.samples or not figure.works:
            continue
        pooled = stats.compare_samples(old.samples or (), figure.samples, alpha=alpha, min_effect=min_effect)
        judged.append((_family(figure), pooled, pooled))  # two runs share no round: pooled, as compare
    confirmed = [f for f in compare_figures(current, baseline=baseline, alpha=alpha, min_effect=min_effect).findings
                 if f.metric == "time" and f.verdict == "regression"]
    return _counts(name, judged, alpha, len(confirmed))


def _counts(name: str, judged: list[tuple[tuple, stats.SampleVerdict, stats.SampleVerdict]], alpha: float,
            confirmed: int | None) -> Tally:
    """A Tally of (family, compare's verdict, the pooled verdict) of each pair."""
    families: dict[tuple, list[float]] = {}
    for family, verdict, _ in judged:
        families.setdefault(family, []).append(verdict.p_value)
    levels = {family: stats.benjamini_hochberg_level(found, alpha) for family, found in families.items()}
    slower = [(family, v) for family, v, _ in judged if v.verdict == "slower"]
    return Tally(name, len(judged), sum(v.test != stats.MANN_WHITNEY for _, v, _ in judged),
                 sum(p.verdict == "slower" for _, _, p in judged), len(slower),
                 sum(v.p_value < levels[family] for family, v in slower), confirmed)


def within_run_pairs(figures: Sequence[Figure]) -> list[tuple[Figure, Figure]]:
    """(old, new) figures of one path in two environments that differ only in one library the
    path does not use: identical code measured in one run."""
    groups: dict[tuple, list[Figure]] = {}
    for figure in figures:
        if figure.samples and figure.works:
            groups.setdefault(_key(figure)[:3], []).append(figure)
    found = []
    for members in groups.values():
        for a, b in itertools.combinations(members, 2):
            va, vb = a.versions, b.versions
            differ = [lib for lib in set(va) | set(vb) if va.get(lib) != vb.get(lib)]
            if len(differ) != 1 or differ[0] not in va or differ[0] not in vb:
                continue
            driver = a.param("driver")
            if uses_library(a.strategy, driver.strip("'") if driver else None, differ[0]):
                continue
            old, new = sorted((a, b), key=lambda f: version_key(f.versions[differ[0]]))
            found.append((old, new))
    return found


def within_tally(name: str, figures: Sequence[Figure], alpha: float, min_effect: float) -> Tally:
    """Count the false alarms of one run's within-run A/A pairs (blocked where rounds are known)."""
    judged = [(_family(new), stats.compare_samples(old.samples or (), new.samples or (), alpha=alpha,
                                                   min_effect=min_effect, old_rounds=old.rounds,
                                                   new_rounds=new.rounds),
               stats.compare_samples(old.samples or (), new.samples or (), alpha=alpha, min_effect=min_effect))
              for old, new in within_run_pairs(figures)]
    return _counts(name, judged, alpha, None)


def comparisons(runs: dict[str, list[Figure]], resamples: int, seed: int) -> list[tuple[str, list, list]]:
    """Every ordered pair of runs, then ``resamples`` draws of an ordered pair per environment."""
    found = [(f"{a} -> {b}", runs[a], runs[b]) for a, b in itertools.permutations(runs, 2)]
    rng = random.Random(seed)
    environments = sorted({f.requirements for figures in runs.values() for f in figures})
    ordered = list(itertools.permutations(runs, 2))
    for index in range(resamples):
        baseline, current, drawn = [], [], []
        for environment in environments:
            a, b = rng.choice(ordered)
            drawn.append(f"{a}->{b}")
            baseline += [f for f in runs[a] if f.requirements == environment]
            current += [f for f in runs[b] if f.requirements == environment]
        found.append((f"resample {index + 1} ({', '.join(drawn)})", baseline, current))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bulkinsert.analysis.aa", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="asv results directories of identical environments")
    parser.add_argument("--ignore", action="append", default=[], help="a strategy left out (a planted one)")
    parser.add_argument("--resamples", type=int, default=0)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--alpha", type=float, default=stats.DEFAULT_ALPHA)
    parser.add_argument("--min-effect", type=float, default=stats.DEFAULT_MIN_EFFECT)
    parser.add_argument("--within", action="store_true",
                        help="A/A pairs inside each run: a path across a library it does not use")
    parser.add_argument("--samples-per-round", type=int, default=None,
                        help="every round took this many samples (for results that do not record it)")
    args = parser.parse_args(argv)
    if len(args.runs) < 2 and not args.within:
        parser.error("give at least two results directories (or --within)")
    runs = {}
    for path in args.runs:
        if not path.is_dir():
            parser.error(f"{path}: not a directory")
        runs[path.name] = [f for f in load_figures(path, samples_per_round=args.samples_per_round)
                           if f.method.startswith("time_") and f.strategy not in args.ignore]
    if args.within:
        tallies = [within_tally(f"within {name}", figures, args.alpha, args.min_effect)
                   for name, figures in runs.items()]
    else:
        tallies = [tally(name, baseline, current, args.alpha, args.min_effect)
                   for name, baseline, current in comparisons(runs, args.resamples, args.seed)]
    print(f"{'comparison':<52} {'pairs':>5} {'blocked':>7} {'pooled':>6} {'rank test':>9} {'family':>6} "
          f"{'confirmed':>9}")
    for t in tallies:
        confirmed_text = "n/a" if t.confirmed is None else t.confirmed
        print(f"{t.name[:52]:<52} {t.pairs:>5} {t.blocked:>7} {t.pooled_slower:>6} {t.rank_slower:>9} "
              f"{t.family_slower:>6} {confirmed_text:>9}")
    pairs = sum(t.pairs for t in tallies)
    if not pairs:
        print("no timing pairs with samples on both sides")
        return 0
    blocked, pooled, rank, family = (sum(getattr(t, n) for t in tallies) for n in (
        "blocked", "pooled_slower", "rank_slower", "family_slower"))
    confirmed = "n/a (controls are never findings)" if args.within else sum(t.confirmed or 0 for t in tallies)
    blocked_text = f" ({blocked} blocked on the round)" if args.within else ""
    print(f"{len(tallies)} A/A comparisons, {pairs} timing pairs{blocked_text}, alpha {args.alpha:g} "
          f"(a two-sided test: at most {args.alpha / 2:g} of pairs called slower)")
    pooled_text = f"pooled Mann-Whitney alone: {pooled} slower ({pooled / pairs:.2%}); " if args.within else ""
    print(f"{pooled_text}rank test alone: {rank} slower ({rank / pairs:.2%}); at the family's Benjamini-Hochberg "
          f"level: {family} slower ({family / pairs:.2%}); confirmed regressions: {confirmed}")
    p_values = [] if args.within else distinct_p_values(runs)
    if p_values:
        print(f"calibration over the {len(p_values)} distinct pairs of runs: p < {args.alpha:g} in "
              f"{sum(p < args.alpha for p in p_values)}, p < {args.alpha / 10:g} in "
              f"{sum(p < args.alpha / 10 for p in p_values)}, smallest p {min(p_values):.3g}")
    return 0


def distinct_p_values(runs: dict[str, list[Figure]]) -> list[float]:
    """The rank test's two-sided p of every figure in every unordered pair of runs: on identical
    environments a share of them below ``alpha`` well above ``alpha`` is the rounds' correlation."""
    found = []
    for a, b in itertools.combinations(runs, 2):
        before = {_key(f): f for f in runs[a] if f.samples and f.works}
        for figure in runs[b]:
            old = before.get(_key(figure))
            if old is not None and figure.samples and figure.works:
                found.append(stats.mann_whitney_p(old.samples or (), figure.samples))
    return found


if __name__ == "__main__":
    raise SystemExit(main())
