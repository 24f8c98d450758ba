"""Re-create this directory: the site's test results, with one planted regression.

    flock /tmp/bulkinsert-heavy.lock .venv/bin/python tests/data/site_results/record.py

Start: the SQLAlchemy 2.0.58 and 2.1.9 environments (both psycopg2 releases) of the recorded
quick run in ``tests/data/asv_results``. Added: for ``copy_text`` and ``execute_values`` at
10,000 rows, eleven real timed samples per environment, measured here with ``run_insert`` (one
interpreter, so the four environments differ only by label; rounds interleaved across them).
Planted: ``execute_values``' samples in the two SQLAlchemy 2.1.9 environments are multiplied by 2, so ``bulkinsert
compare`` confirms a timing regression there (rank test, effect size, and both psycopg2
releases agreeing) and the site must mark exactly those two cells with ▲. The recorded samples were
taken on the shared 2-core machine with other measurements queued for it: their wide spread
(e.g. copy_text 35-154 ms) is that machine's, not the libraries'.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from bulkinsert.analysis.results import Figure, load_figures, write_figures
from bulkinsert.data.schema import default_names
from bulkinsert.measure.runner import run_insert

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "asv_results"
KEPT_RELEASES = {"2.0.58", "2.1.9"}
SAMPLED = ("copy_text", "execute_values")
ROWS = 10_000
SAMPLES = 11
PLANTED = ("execute_values", "2.1.9", 2.0)


def main() -> None:
    figures = [f for f in load_figures(SOURCE) if f.versions.get("SQLAlchemy") in KEPT_RELEASES]
    names = default_names(ROWS)
    sampled = [f for f in figures if f.method == "time_insert" and f.strategy in SAMPLED and f.rows == ROWS]
    samples: dict[Figure, list[float]] = {f: [] for f in sampled}
    for _ in range(SAMPLES):  # interleaved rounds: a burst of load hits every environment alike
        for figure in sampled:
            samples[figure].append(run_insert(figure.strategy, names).seconds)
    strategy, release, factor = PLANTED
    out = []
    for figure in figures:
        if figure in samples:
            kept = samples[figure]
            if figure.strategy == strategy and figure.versions["SQLAlchemy"] == release:
                kept = [s * factor for s in kept]
            figure = replace(figure, samples=tuple(kept), value=sorted(kept)[SAMPLES // 2],
                             repeat=SAMPLES, number=1, iqr=None, ci_99=None)
        out.append(figure)
    for old in HERE.glob("*/"):
        shutil.rmtree(old)
    shutil.copyfile(SOURCE / "benchmarks.json", HERE / "benchmarks.json")
    for machine_json in SOURCE.glob("*/machine.json"):
        (HERE / machine_json.parent.name).mkdir(exist_ok=True)
        shutil.copyfile(machine_json, HERE / machine_json.parent.name / "machine.json")
    for path in write_figures(HERE, out):
        print(path.relative_to(HERE))


if __name__ == "__main__":
    main()
