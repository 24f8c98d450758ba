"""Which round each recorded sample of a timing belongs to: the suite's round notes.

asv runs a timing in rounds, each in a new process, and appends every round's samples to one
list in the order the rounds ran, keeping no boundaries; a round takes between ``repeat``'s
minimum and maximum samples, and benchmarks.json does not record ``repeat``. So the suite notes
each sample it took, after the sample (in the teardown, outside the timed region), one line in
``<results_dir>/rounds.jsonl`` (a file asv ignores): the benchmark class, parameters, asv's
commit and environment name, and a token of the process — one process, one round. The reader
counts each round's samples in the order they were noted, and labels a figure's samples only
when the counts of its last ``rounds`` rounds add up to exactly its number of samples.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROUNDS_FILE = "rounds.jsonl"
_TOKEN: dict[int, str] = {}


def _process_token() -> str:
    """This process's token: made in the process itself (asv forks rounds from one server)."""
    pid = os.getpid()
    if pid not in _TOKEN:
        _TOKEN[pid] = f"{pid}-{uuid.uuid4().hex[:12]}"
    return _TOKEN[pid]


def record_sample(results_dir: str | os.PathLike[str], *, benchmark_class: str, params: Mapping[str, str],
                  commit: str = "", env_name: str = "") -> None:
    """Append one line for one sample just taken (the suite calls it after each timed insert)."""
    line = {"class": benchmark_class, "params": {str(k): str(v) for k, v in params.items()}, "commit": commit,
            "env_name": env_name, "process": _process_token()}
    target = Path(results_dir) / ROUNDS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, sort_keys=True) + "\n")


def read_round_notes(results_dir: str | os.PathLike[str]) -> dict[tuple, list[tuple[str, str, str]]]:
    """{(class, sorted params): [(commit, env_name, process), ...] in the order noted}; a damaged line is skipped."""
    target = Path(results_dir) / ROUNDS_FILE
    if not target.exists():
        return {}
    notes: dict[tuple, list[tuple[str, str, str]]] = {}
    for line in target.read_text(encoding="utf-8").splitlines():
        try:
            data: dict[str, Any] = json.loads(line)
            key = (str(data["class"]), tuple(sorted((str(k), str(v)) for k, v in dict(data["params"]).items())))
            notes.setdefault(key, []).append((str(data.get("commit") or ""), str(data.get("env_name") or ""),
                                              str(data["process"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return notes


def labels_from_notes(notes: Mapping[tuple, list[tuple[str, str, str]]], *, benchmark_class: str,
                      params: tuple[tuple[str, str], ...], commit: str, env_name: str, count: int,
                      rounds: int) -> tuple[int, ...] | None:
    """The round of each of a figure's ``count`` samples from the notes, or None when they do not fit.

    A note with no commit or environment (asv did not tell the suite) matches any. The figure's
    samples are asv's last ``rounds`` rounds of this combination: a re-run at the same commit
    replaces the result but not the earlier notes, so only the last rounds count. When the
    notes of the figure's commit do not fit, those of its environment at any commit are tried:
    asv can pass a reused environment the commit it was built at (``ASV_COMMIT``) rather than
    the one it is filed under; the sizes must still add up to exactly ``count``.
    """
    noted = notes.get((benchmark_class, tuple(sorted(params))), [])
    same_env = [(c, process) for c, e, process in noted if not e or e == env_name]
    for tokens in ([process for c, process in same_env if not c or c == commit],
                   [process for _, process in same_env]):
        labels = _labels(tokens, count, rounds)
        if labels is not None:
            return labels
    return None


def _labels(tokens: list[str], count: int, rounds: int) -> tuple[int, ...] | None:
    """Round labels from the process tokens of the noted samples, in order: one process, one round."""
    sizes: list[int] = []
    previous = None
    for token in tokens:
        if token == previous:
            sizes[-1] += 1
        else:
            sizes.append(1)
        previous = token
    if rounds < 2 or len(sizes) < rounds or sum(sizes[-rounds:]) != count:
        return None
    return tuple(index for index, size in enumerate(sizes[-rounds:]) for _ in range(size))
