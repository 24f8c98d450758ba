"""Names `vulture` (make lint) reports as unused that are read in a way it cannot see.

Fields of result records that are written out whole with ``dataclasses.asdict`` (``--json``
output, the site's data) are read by whoever reads that output.
"""

_.minimum  # noqa: F821, B018  stats.SampleSummary, in compare --json and the site
_.maximum  # noqa: F821, B018  stats.SampleSummary
_.replicates  # noqa: F821, B018  verdicts.Finding.as_dict(): the replicate pairs behind a verdict
