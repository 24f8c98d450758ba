"""Talking to the measuring process of a release's environment (:mod:`.worker`)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ..errors import BulkInsertError
from ..pg.server import scrub
from .envs import ReleaseEnv, env_root
from .worker import PLANT_VARIABLE

# The release tools' own database on the shared server, so their statement counts are never
# mixed with a test run's or a benchmark's (the runner's turn lock serialises the inserts).
DEFAULT_DATABASE = "bulkinsert_releases"



def measuring_variables(plant: str | None) -> dict[str, str]:
    """A measuring process's environment: this one's, with the release tools' database, this
    measurement's slowdown hook only, and nothing that would make it import this checkout."""
    variables = dict(os.environ)
    variables.setdefault("BULKINSERT_DATABASE", DEFAULT_DATABASE)
    variables.pop(PLANT_VARIABLE, None)
    if plant:
        variables[PLANT_VARIABLE] = plant
    variables.pop("PYTHONPATH", None)
    variables.pop("VIRTUAL_ENV", None)
    return variables


def logs_folder() -> Path:
    """Where measuring processes write what they print (one log per environment)."""
    logs = env_root().parent / "releases" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs

class WorkerError(BulkInsertError):
    """The measuring process failed or died; the message is its last word."""


class Unmeasurable(BulkInsertError):
    """The strategy cannot run with this release (the message says why)."""


class Worker:
    """One long-lived measuring process in ``env``; ``plant`` sets the slowdown test hook.

    ``ahead``: only start the process (its imports run while the caller does other work) and
    connect later, in :meth:`ready`; ``cpus`` confines it to those CPUs until its first timed
    insert places it (:mod:`bulkinsert.pg.placement`), so a process started ahead of its turn
    imports on a CPU the running measurement does not use.
    """

    def __init__(self, env: ReleaseEnv, *, plant: str | None = None, ahead: bool = False,
                 cpus: tuple[int, ...] = ()) -> None:
        self.env = env
        self.versions: dict[str, str] = {}
        self.placement: dict[str, Any] | None = None  # where its last timed insert ran (bulkinsert.pg.placement)
        self._ready = False
        variables, logs = measuring_variables(plant), logs_folder()
        self.log_path: Path = logs / f"{env.path.name}.log"
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [str(env.python), "-m", "bulkinsert.releases.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=variables,
            cwd=str(env.path),
        )
        if cpus:
            try:
                os.sched_setaffinity(self.process.pid, cpus)
            except OSError:  # gone already, or CPUs not allowed: it then imports where the scheduler puts it
                pass
        if not ahead:
            try:
                self.ready()
            except BaseException:
                self.close()
                raise

    def ready(self) -> Worker:
        """Wait for the process's imports, then connect it to the server (idempotent)."""
        if not self._ready:
            self.versions = self._answer().get("versions", {})
            self._request({"connect": True})
            self._ready = True
        return self

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the process is gone; its last word (or exit status) is read below
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise WorkerError(f"{self.env.library} {self.env.version}: measuring process exited ({code}); "
                              f"see {self.log_path}")
        answer = json.loads(line)
        if not answer.get("ok") and "error" in answer:
            raise WorkerError(scrub(f"{self.env.library} {self.env.version}: {answer['error']}"))
        return answer

    def measure(self, strategy: str, rows: int, *, calls: bool = False, check: bool = False,
                driver: str | None = None, workload: str | None = None) -> dict[str, Any]:
        """One insert in the release's process: seconds, CPU, statements (and calls if asked).

        ``check``: afterwards, untimed, compare the table with the rows (``not_exact`` in the answer).
        ``driver``: the SQLAlchemy paths' driver (None: the strategy's own; left out of the request then,
        so a request reads as it did before drivers); ``workload`` likewise (None: the strategy's own).
        """
        self.ready()
        request: dict[str, Any] = {"strategy": strategy, "rows": rows, "calls": calls, "check": check}
        if driver is not None:
            request["driver"] = driver
        if workload is not None:
            request["workload"] = workload
        answer = self._request(request)
        self.placement = answer.get("placement") or self.placement
        if "unsupported" in answer:
            raise Unmeasurable(scrub(answer["unsupported"]))
        if answer.get("statements_unavailable"):
            answer["statements_unavailable"] = scrub(answer["statements_unavailable"])
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InstructionsWorker:
    """A release's measuring process under valgrind (:mod:`bulkinsert.measure.instructions`), with
    :class:`Worker`'s ``measure`` and context manager: answers carry ``instructions``.

    Where valgrind is missing, starting it raises :class:`Unmeasurable` with what to install.
    """

    def __init__(self, env: ReleaseEnv, *, plant: str | None = None) -> None:
        from ..measure.instructions import Counter, InstructionsUnavailable

        self.env = env
        variables, logs = measuring_variables(plant), logs_folder()
        try:
            self.counter = Counter(env.python, cwd=env.path, environ=variables,
                                   log=logs / f"{env.path.name}.instructions.log")
        except InstructionsUnavailable as exc:
            raise Unmeasurable(str(exc)) from None
        except RuntimeError as exc:
            raise WorkerError(scrub(f"{env.library} {env.version}: {exc}")) from None
        self.versions = self.counter.versions

    def measure(self, strategy: str, rows: int, *, calls: bool = False, check: bool = False,
                driver: str | None = None) -> dict[str, Any]:
        """One insert's client instructions (``calls`` and ``check`` do not apply: counted, not checked)."""
        del calls, check
        try:
            figure = self.counter.measure(strategy, rows, driver=driver)
        except RuntimeError as exc:
            raise WorkerError(scrub(f"{self.env.library} {self.env.version}: {exc}")) from None
        if figure.skip is not None:
            raise Unmeasurable(scrub(figure.skip))
        if figure.error is not None:
            raise WorkerError(scrub(f"{self.env.library} {self.env.version}: {figure.error}"))
        return {"ok": True, "instructions": figure.instructions, "versions": self.versions,
                "conditions": self.counter.conditions}

    def close(self) -> None:
        self.counter.close()

    def __enter__(self) -> InstructionsWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def worker_for(metric: str) -> type[Worker] | type[InstructionsWorker]:
    """The measuring process a metric needs: under valgrind for ``instructions``."""
    return InstructionsWorker if metric == "instructions" else Worker
