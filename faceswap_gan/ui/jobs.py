"""Long work of the web UI as background processes that outlive the page and the server.

A job is one CLI command (``faceswap-gan prepare ...``) run by ``python -m faceswap_gan.ui.runner`` in a
session of its own, so that closing the page, or stopping ``faceswap-gan ui``, leaves it running; the
page finds it again by its folder. A job folder holds:

- ``job.json``: the command, the process id and the start time (written before the process starts
  its work);
- ``log.txt``: everything the command prints, its progress bar included;
- ``exit.json``: the exit status, written by the runner when the command ends.

One job of each kind (prepare, masks, train, convert) runs at a time in a workspace.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from faceswap_gan.errors import UserError
from faceswap_gan.io.atomic import atomic_write, process_running

# tqdm's line: "train:  40%|####      | 8/20 [00:05<00:07,  1.62it/s, ...]"
_BAR = re.compile(r"(?P<n>\d+)/(?P<total>\d+) \[(?P<elapsed>[\d:]+)<(?P<left>[\d:?]+)")


@dataclass(frozen=True)
class JobStatus:
    """What the page shows of a job: ``state`` is none, running, done, failed or stopped."""

    kind: str
    state: str
    done: int = 0
    total: int = 0
    elapsed: str = ""
    left: str = ""
    message: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"

    def describe(self) -> str:
        if self.state == "none":
            return f"{self.kind}: not started"
        counts = f" {self.done}/{self.total}" if self.total else ""
        timing = f", {self.elapsed} so far, about {self.left} left" if self.running and self.total else ""
        tail = f": {self.message}" if self.message else ""
        return f"{self.kind} {self.state}{counts}{timing}{tail}"


def _write_json(path: Path, data: dict) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2))


def _alive(pid: int, started: float) -> bool:
    """Whether ``pid`` is still the job's process (not a later process that was given the same id)."""
    if not process_running(pid):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc: trust kill()
        return True
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] == "Z":  # ended, not yet reaped by the server that started it
        return False
    # A process that began after the job cannot be it (the id was given again): field 22 of stat is the
    # start time in clock ticks after boot.
    try:
        boot = next(int(x.split()[1]) for x in Path("/proc/stat").read_text().splitlines() if x.startswith("btime"))
        began = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError, IndexError):
        return True
    return began <= started + 5


class Job:
    """The job folder ``folder`` of kind ``kind`` (its name)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.kind = self.folder.name

    @property
    def log(self) -> Path:
        return self.folder / "log.txt"

    def _read(self, name: str) -> dict | None:
        try:
            return json.loads((self.folder / name).read_text())
        except (OSError, ValueError):
            return None

    def args(self) -> list[str]:
        """The command's arguments (after ``faceswap-gan``); empty before the first job."""
        info = self._read("job.json")
        return list(info["args"]) if info else []

    def started(self) -> float:
        """When the last job started (seconds since the epoch); 0 before the first."""
        info = self._read("job.json")
        return float(info["started"]) if info else 0.0

    def running(self) -> bool:
        info, ended = self._read("job.json"), self._read("exit.json")
        return info is not None and ended is None and _alive(info["pid"], info["started"])

    def start(self, args: list[str]) -> None:
        """Run ``faceswap-gan ARGS`` in the background. Refused while a job of this kind runs."""
        if self.running():
            raise UserError(f"a {self.kind} job is already running; stop it or wait for it to finish")
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in ("exit.json", "job.json"):
            (self.folder / name).unlink(missing_ok=True)
        with open(self.log, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "faceswap_gan.ui.runner", str(self.folder), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the server and the page, and a Ctrl-C in its terminal
            )
        _write_json(self.folder / "job.json", {"args": args, "pid": process.pid, "started": time.time()})

    def stop(self) -> bool:
        """Ask the job to stop as Ctrl-C would (training saves its last iteration first)."""
        info = self._read("job.json")
        if info is None or not self.running():
            return False
        try:  # the command alone: it stops its own workers (a signal to them would fail its data loader)
            os.kill(info["pid"], signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True

    def wait(self, timeout: float) -> JobStatus:
        """Block until the job ends or ``timeout`` seconds pass (for scripts and tests)."""
        end = time.monotonic() + timeout
        while self.running() and time.monotonic() < end:
            time.sleep(0.2)
        return self.status()

    def status(self) -> JobStatus:
        info = self._read("job.json")
        if info is None:
            return JobStatus(self.kind, "none")
        text = self.tail()
        bars = list(_BAR.finditer(text))
        bar = bars[-1].groupdict() if bars else {"n": 0, "total": 0, "elapsed": "", "left": ""}
        progress = dict(done=int(bar["n"]), total=int(bar["total"]), elapsed=bar["elapsed"], left=bar["left"])
        ended = self._read("exit.json")
        if ended is None:
            state = "running" if _alive(info["pid"], info["started"]) else "failed"
            message = "" if state == "running" else "the process ended without a word (killed?); see its log"
            return JobStatus(self.kind, state, message=message, **progress)
        code = ended["code"]
        state = "done" if code == 0 else "stopped" if code in (130, -signal.SIGTERM) else "failed"
        return JobStatus(self.kind, state, message=last_message(text, code), **progress)

    def tail(self, size: int = 16384) -> str:
        """The end of the log, progress-bar redraws (carriage returns) as line ends."""
        try:
            with open(self.log, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - size))
                return f.read().decode("utf-8", "replace").replace("\r", "\n")
        except OSError:
            return ""


def last_message(text: str, code: int) -> str:
    """What a finished command said last: its ``error:`` line if it failed, else its last plain line."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _BAR.search(line)]
    errors = [line for line in lines if line.startswith("error:")]
    if code != 0 and errors:
        return errors[-1].removeprefix("error:").strip()
    if code != 0 and not lines:
        return f"exit status {code}"
    return lines[-1] if lines else ""
