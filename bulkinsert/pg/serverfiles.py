"""Files the server reads itself (``COPY ... FROM '<file>'``), staged so that none outlives its writer for long.

Every staged file lives in ``<tempdir>/bulkinsert-staged-<uid>/<pid>-<start>/``: one private
parent per OS user and one subdirectory per owning process, named by its pid and its start time
(milliseconds since the epoch) so that a reused pid is not taken for the old owner. ``atexit``
removes a process's subdirectory on a normal exit; processes that end with ``os._exit`` (asv's
forkserver children, ``multiprocessing`` children) or are killed never run it, so every new
file first sweeps away the subdirectories whose owner no longer runs. A file then survives its
writer only until the next staging on the machine by the same user.

The server may run as another OS user (the embedded server does when we are root): the
directories are 0755 and the files 0644, and the parent is refused unless it is a real directory
of ours that no one else may write to (``/tmp`` is shared).
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import uuid
from pathlib import Path

from ..errors import Unsupported

PREFIX = "bulkinsert-staged-"
# psutil derives a start time from the boot time, which the kernel reports to the second and
# which moves when the clock is stepped: the same process may read up to ~1 s apart. A pid is
# not reused within a second of its previous owner's start unless the pid space wraps that fast.
START_TOLERANCE_MS = 1500

_OWN: dict[int, Path] = {}  # pid -> the subdirectory that process created (forked children differ)


def _user() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


def staged_root() -> Path:
    """This user's parent of every staged file (not created here)."""
    return Path(tempfile.gettempdir()) / f"{PREFIX}{_user()}"


def _start_ms(pid: int) -> int | None:
    """When ``pid`` started (ms since the epoch); None when it is gone or a zombie."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return round(process.create_time() * 1000)
    except psutil.NoSuchProcess:
        return None


def owner_name(pid: int | None = None) -> str:
    """The subdirectory name of a running process: ``<pid>-<start ms>``."""
    pid = os.getpid() if pid is None else pid
    started = _start_ms(pid)
    if started is None:
        raise ValueError(f"process {pid} is not running")
    return f"{pid}-{started}"


def owner_alive(name: str) -> bool:
    """Whether the process a subdirectory is named after still runs (names not ours: kept)."""
    import psutil

    pid_text, _, start_text = name.partition("-")
    if not (pid_text.isdigit() and start_text.isdigit()):
        return True
    try:
        started = _start_ms(int(pid_text))
    except psutil.AccessDenied:  # someone else's process with this pid: it is alive
        return True
    return started is not None and abs(started - int(start_text)) <= START_TOLERANCE_MS


def _private_root() -> Path:
    """The parent directory, created 0755; refused if it is a link, someone else's, or writable by others."""
    root = staged_root()
    try:
        root.mkdir(exist_ok=True)
        info = os.lstat(root)
    except OSError as exc:
        raise Unsupported(f"cannot create {root} for staged server files: {exc.strerror}") from exc
    getuid = getattr(os, "getuid", None)
    if not stat.S_ISDIR(info.st_mode) or (getuid is not None and info.st_uid != getuid()):
        raise Unsupported(f"{root} is not a directory of this user (a link or someone else's): remove it")
    if stat.S_IMODE(info.st_mode) != 0o755:
        os.chmod(root, 0o755)  # umask on creation; the server's OS user must traverse it
    return root


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the subdirectories whose owner no longer runs; return them."""
    root = staged_root() if root is None else root
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    removed = []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and not owner_alive(entry.name):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def own_dir() -> Path:
    """This process's subdirectory, created (0755) on first use."""
    pid = os.getpid()
    if pid in _OWN and _OWN[pid].is_dir():
        return _OWN[pid]
    folder = _private_root() / owner_name(pid)
    folder.mkdir(exist_ok=True)
    os.chmod(folder, 0o755)
    _OWN[pid] = folder
    return folder


def new_file(suffix: str) -> Path:
    """A fresh path for a file the server will read, after sweeping dead owners' files.

    The caller writes it and makes it 0644 (:func:`make_readable`).
    """
    sweep(_private_root())
    return own_dir() / f"{uuid.uuid4().hex}{suffix}"


def make_readable(path: str | os.PathLike[str]) -> None:
    """Let the server's OS user read ``path`` whatever the umask."""
    os.chmod(path, 0o644)


def remove_own() -> None:
    """Remove this process's subdirectory (at a normal exit; a forked child leaves its parent's)."""
    folder = _OWN.pop(os.getpid(), None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(remove_own)
