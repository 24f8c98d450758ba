"""Library releases as an axis: list them, build one environment each, sweep, bisect, compare.

``bulkinsert releases list|sweep|bisect|compare|envs`` (:mod:`.cli`). The index is read as pip
reads it (:mod:`.index`); each release gets a cached uv environment with everything else
pinned as the newest asv matrix environment (:mod:`.envs`); a long-lived process inside it
measures (:mod:`.worker`, :mod:`.workers`); sweeps are stored as asv results (:mod:`.sweep`);
bisect and compare outcomes go to ``.asv/releases/findings.jsonl`` (:mod:`.findings`).
"""
