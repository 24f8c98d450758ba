"""The false-alarm rate of timing verdicts, measured on A/A comparisons: identical environments.

Give it two or more asv results directories measured from the same environments at the same
commit (nothing changed between them, so every "slower" is a false alarm), e.g. repeated quick
runs, or the recorded runs under ``tests/data/asv_samples``::

    python -m bulkinsert.analysis.aa tests/data/asv_samples/{first,second,planted} --ignore copy_text

(``--ignore`` leaves out a strategy with a planted slow-down.) Every ordered pair of runs is one
A/A comparison (``compare --baseline``); ``--resamples N`` adds N more, each environment drawing
its own ordered pair of runs (seeded). For every comparison it counts, over the timing pairs
with samples on both sides:

* ``rank test``: pairs the rank test alone calls slower at ``alpha`` (p < alpha, beyond the
  minimum effect): what the test's nominal rate promises is at most alpha / 2 each way;
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
from .families import PER_PAIR
from .results import Figure, load_figures
from .verdicts import compare_figures


@dataclass(frozen=True)
class Tally:
    """One A/A comparison's counts."""

    name: str
    pairs: int  # timing pairs with samples on both sides
    rank_slower: int  # p < alpha and beyond the minimum effect, slower
    family_slower: int  # ... below the family's Benjamini-Hochberg level
    confirmed: int  # confirmed timing regressions of compare's whole rule


def _key(figure: Figure) -> tuple:
    return (figure.machine, figure.benchmark, figure.params, figure.requirements)


def _family(figure: Figure) -> tuple:
    return (figure.machine, figure.benchmark, tuple(p for p in figure.params if p[0] not in PER_PAIR))


def tally(name: str, baseline: Sequence[Figure], current: Sequence[Figure], alpha: float,
          min_effect: float) -> Tally:
    """Count the false alarms of one A/A comparison (``current`` against ``baseline``)."""
    before = {_key(f): f for f in baseline if f.samples and f.works}
    verdicts = []
    for figure in current:
        old = before.get(_key(figure))
        if old is None or not figure.samples or not figure.works:
            continue
        verdicts.append((_family(figure), stats.compare_samples(old.samples or (), figure.samples, alpha=alpha,
                                                                min_effect=min_effect)))
    families: dict[tuple, list[float]] = {}
    for family, verdict in verdicts:
        families.setdefault(family, []).append(verdict.p_value)
    levels = {family: stats.benjamini_hochberg_level(found, alpha) for family, found in families.items()}
    slower = [(family, v) for family, v in verdicts if v.verdict == "slower"]
    confirmed = [f for f in compare_figures(current, baseline=baseline, alpha=alpha, min_effect=min_effect).findings
                 if f.metric == "time" and f.verdict == "regression"]
    return Tally(name, len(verdicts), len(slower), sum(v.p_value < levels[family] for family, v in slower),
                 len(confirmed))


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
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        parser.error("give at least two results directories")
    runs = {}
    for path in args.runs:
        if not path.is_dir():
            parser.error(f"{path}: not a directory")
        runs[path.name] = [f for f in load_figures(path)
                           if f.method.startswith("time_") and f.strategy not in args.ignore]
    tallies = [tally(name, baseline, current, args.alpha, args.min_effect)
               for name, baseline, current in comparisons(runs, args.resamples, args.seed)]
    print(f"{'comparison':<52} {'pairs':>5} {'rank test':>9} {'family':>6} {'confirmed':>9}")
    for t in tallies:
        print(f"{t.name[:52]:<52} {t.pairs:>5} {t.rank_slower:>9} {t.family_slower:>6} {t.confirmed:>9}")
    pairs = sum(t.pairs for t in tallies)
    rank, family, confirmed = (sum(getattr(t, n) for t in tallies) for n in ("rank_slower", "family_slower",
                                                                            "confirmed"))
    print(f"{len(tallies)} A/A comparisons, {pairs} timing pairs, alpha {args.alpha:g} "
          f"(a two-sided test: at most {args.alpha / 2:g} of pairs called slower)")
    print(f"rank test alone: {rank} slower ({rank / pairs:.2%}); at the family's Benjamini-Hochberg level: "
          f"{family} slower ({family / pairs:.2%}); confirmed regressions: {confirmed}")
    p_values = distinct_p_values(runs)
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
