"""Every release step of a run's client instructions, per path, as a Markdown table.

``python -m bulkinsert.analysis.instruction_steps RESULTS_DIR``: for each path (by its identity's
label), NEW ÷ OLD instructions at each SQLAlchemy step of the matrix, per psycopg2 context, and at
the psycopg2 step, per SQLAlchemy context, each marked with the count rule's verdict (▲ more,
▼ fewer). The releases are the run's own, in version order.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from .metrics import count_verdict
from .results import Figure, load_figures, version_key

MARKS = {"more": " ▲", "fewer": " ▼"}


def _cell(old: Figure | None, new: Figure | None) -> str:
    if old is None or new is None or not old.value or new.value is None:
        return "n/a"
    verdict = count_verdict("instructions", old.value, new.value, new.rows, new.identity.driver).verdict
    return f"×{new.value / old.value:.3f}{MARKS.get(verdict, '')}"


def step_table(figures: list[Figure], outer: str = "SQLAlchemy", inner: str = "psycopg2-binary") -> str:
    """The Markdown table of ``outer``'s steps (per ``inner`` release) and ``inner``'s (per ``outer``)."""
    counted = [f for f in figures if f.method == "track_instructions" and f.value and not f.identity.dirty]
    paths: dict[str, dict[tuple[str, str], Figure]] = defaultdict(dict)
    for figure in counted:
        paths[figure.identity.label][(figure.versions.get(outer, ""), figure.versions.get(inner, ""))] = figure
    outers = sorted({key[0] for path in paths.values() for key in path}, key=version_key)
    inners = sorted({key[1] for path in paths.values() for key in path}, key=version_key)
    head = [f"{a} → {b}" for a, b in zip(outers, outers[1:], strict=False)]
    head += [f"{inner} {a} → {b} (at {outer} {', '.join(outers)})" for a, b in zip(inners, inners[1:], strict=False)]
    lines = ["| path | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for label in sorted(paths):
        at = paths[label]
        cells = [" / ".join(_cell(at.get((a, i)), at.get((b, i))) for i in inners)
                 for a, b in zip(outers, outers[1:], strict=False)]
        cells += [", ".join(_cell(at.get((o, a)), at.get((o, b))) for o in outers)
                  for a, b in zip(inners, inners[1:], strict=False)]
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path, help="asv results directory (one sub-directory per machine)")
    print(step_table(load_figures(parser.parse_args().results_dir)))


if __name__ == "__main__":
    main()
