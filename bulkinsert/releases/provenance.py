"""Where a figure or a finding is filed: the machine ``make bench`` records and the checkout's commit.

A sweep files its figures under them and a recorded finding names them; both read them here,
so neither module needs the other.
"""

from __future__ import annotations

import os
import socket
import subprocess

from .envs import CHECKOUT


def machine_name() -> str:
    """The machine ``make bench`` records: ``$ASV_MACHINE``, else the host name."""
    return os.environ.get("ASV_MACHINE") or socket.gethostname()


def project_commit() -> tuple[str, int]:
    """The checkout's commit and its date in ms (asv dates results by their commit)."""
    out = subprocess.run(
        ["git", "-C", str(CHECKOUT), "log", "-1", "--format=%H %ct"], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1]) * 1000
