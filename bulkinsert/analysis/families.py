"""The level each timing's rank test is held to: Benjamini–Hochberg across a family of pairs.

One run judges hundreds of timing pairs (every strategy, size and release step); at a fixed
``alpha`` each one is a chance of a false "slower". The family is every sampled pair of one
machine and one benchmark with the same parameters other than strategy and rows (the driver,
the workload): the pairs one table of ``compare`` shows. Figures of another driver, workload,
suite or machine are another family, so adding or removing them never moves this family's level.
Within a family, :func:`bulkinsert.analysis.stats.benjamini_hochberg_level` gives the level that
keeps the expected share of false calls among its calls at ``alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import stats
from .findingtypes import Pair

PER_PAIR = ("strategy", "rows")  # the parameters that vary within a family


def family_of(pair: Pair) -> tuple:
    """The family of a pair: its benchmark and its parameters other than strategy and rows."""
    return (pair.new.machine, pair.new.benchmark,
            tuple((name, value) for name, value in pair.new.params if name not in PER_PAIR))


def _step(pair: Pair) -> tuple:
    """One release step of one figure; its pairs differ only in the held-equal context (replicates)."""
    return (pair.new.benchmark, pair.new.params, pair.library, pair.old_label, pair.new_label)


def apply_discoveries(pairs: Sequence[Pair], alpha: float, threshold: float) -> None:
    """Hold the rank tests of each family to its Benjamini–Hochberg level at ``alpha``.

    A step is a *discovery* when one of its pairs changed with p below its family's level.
    The other pairs of a discovered step keep their test at ``alpha``: each is a follow-up of
    that one hypothesis in another context, so it can agree as a replicate (or contradict).
    The pairs of a step nothing discovered are no longer tested: like any untested timing,
    they are listed only beyond ``threshold`` and say why.
    """
    families: dict[tuple, list[Pair]] = {}
    for pair in pairs:
        if pair.works and pair.sample_verdict is not None:
            families.setdefault(family_of(pair), []).append(pair)
    levels = {family: stats.benjamini_hochberg_level([p.sample_verdict.p_value for p in members  # type: ignore[union-attr]
                                                       if p.sample_verdict], alpha)
              for family, members in families.items()}
    discovered = {_step(p) for family, members in families.items() for p in members
                  if p.tested and p.change in ("slower", "faster")
                  and p.sample_verdict is not None and p.sample_verdict.p_value < levels[family]}
    for family, members in families.items():
        for pair in members:
            if not pair.tested or pair.change not in ("slower", "faster") or _step(pair) in discovered:
                continue
            pair.tested = False
            pair.reason += (f"; not below its family's Benjamini-Hochberg level p < {levels[family]:.3g} "
                            f"({len(members)} rank tests), nor is any replicate of this step")
            worse, better = pair.ratio > 1 + threshold, pair.ratio < 1 / (1 + threshold)
            pair.change = "slower" if worse else "faster" if better else "same"
