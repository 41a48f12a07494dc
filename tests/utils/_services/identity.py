"""Who a PID is: an identity that survives wall-clock steps, and the one verdict on it.

Why not psutil's `create_time`: on Linux it is the boot time *as seen through the wall
clock* plus the kernel's start tick, so an NTP step or a VM resume moves it by seconds, and a
live server of ours looked like a stranger (its data directory was then deleted under it).
The kernel's own start time in clock ticks since boot (`/proc/<pid>/stat`, field 22) never
moves, and the boot id tells one boot from the next: together with the PID they name one
process for the lifetime of the machine.

The verdict has three values on purpose. `SAME` and `GONE` are proofs; `UNKNOWN` (a record
without an identity, a platform without /proc whose clock-based start time disagrees) is not,
and callers must neither signal such a PID nor delete anything it may be using.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_BOOT_ID = _PROC / "sys" / "kernel" / "random" / "boot_id"
#: psutil create_time agreement accepted on platforms without /proc (clock-based there).
_CREATE_TIME_TOLERANCE_S = 0.05


class Verdict(enum.Enum):
    SAME = "same"  # the recorded process is running under this PID
    GONE = "gone"  # provably not running: no such PID, a zombie, or another process has it
    UNKNOWN = "unknown"  # a process has the PID and we cannot tell whether it is ours


@dataclass(frozen=True)
class ProcessIdentity:
    """What we record about a process at spawn time to recognise it later."""

    pid: int
    boot_id: str | None = None
    start_ticks: int | None = None  # Linux: /proc/<pid>/stat starttime
    create_time: float | None = None  # other platforms: psutil (wall-clock based)

    def to_json(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "boot_id": self.boot_id,
            "start_ticks": self.start_ticks,
            "create_time": self.create_time,
        }

    @classmethod
    def from_json(cls, data: object) -> ProcessIdentity:
        """Parse a recorded identity; ValueError names what is malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"identity must be an object, got {type(data).__name__}")
        unknown = set(data) - {"pid", "boot_id", "start_ticks", "create_time"}
        if unknown:
            raise ValueError(f"identity has unknown fields {sorted(unknown)}")
        pid, ticks, created, boot = (
            data.get("pid"),
            data.get("start_ticks"),
            data.get("create_time"),
            data.get("boot_id"),
        )
        if type(pid) is not int or pid <= 0:
            raise ValueError(f"identity pid must be a positive integer, got {pid!r}")
        if ticks is not None and type(ticks) is not int:
            raise ValueError(f"identity start_ticks must be an integer, got {ticks!r}")
        if created is not None and not isinstance(created, (int, float)):
            raise ValueError(f"identity create_time must be a number, got {created!r}")
        if boot is not None and not isinstance(boot, str):
            raise ValueError(f"identity boot_id must be a string, got {boot!r}")
        return cls(pid, boot, ticks, None if created is None else float(created))

    def describe(self) -> str:
        if self.start_ticks is not None:
            return f"pid {self.pid} (started at tick {self.start_ticks} of this boot)"
        return f"pid {self.pid}"


def boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start ticks) from /proc/<pid>/stat, or None without such a process."""
    try:
        text = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    return fields[0], int(fields[19])


def _has_proc() -> bool:
    return (_PROC / "self" / "stat").exists()


def identify(pid: int) -> ProcessIdentity | None:
    """The identity of the running process `pid`, or None if there is none (or a zombie)."""
    if _has_proc():
        try:
            stat = _stat(pid)
        except OSError:
            stat = None
        if stat is None or stat[0] in ("Z", "X"):
            return None
        return ProcessIdentity(pid, boot_id(), stat[1])
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return ProcessIdentity(pid, None, None, proc.create_time())
    except psutil.Error:
        return None


def pid_running(pid: int) -> bool:
    """A process (not a zombie) has this PID, whoever it is."""
    return identify(pid) is not None


def verify(recorded: ProcessIdentity | None, pid: int | None = None) -> tuple[Verdict, str]:
    """Is the recorded process still the one running under its PID? (verdict, reason)."""
    if recorded is None and pid is None:
        return Verdict.GONE, "no process was recorded"
    pid = recorded.pid if recorded is not None else pid
    assert pid is not None
    current = identify(pid)
    if current is None:
        return Verdict.GONE, f"no process has pid {pid}"
    if recorded is None or (recorded.start_ticks is None and recorded.create_time is None):
        return Verdict.UNKNOWN, (
            f"pid {pid} is running but its start identity was never recorded, so it cannot "
            "be proven to be ours"
        )
    if recorded.boot_id and current.boot_id and recorded.boot_id != current.boot_id:
        return Verdict.GONE, f"recorded before a reboot; pid {pid} is now another process"
    if recorded.start_ticks is not None and current.start_ticks is not None:
        if recorded.start_ticks == current.start_ticks:
            return Verdict.SAME, f"pid {pid} is the recorded process"
        return Verdict.GONE, (
            f"pid {pid} now belongs to another process (started at tick "
            f"{current.start_ticks}, ours at {recorded.start_ticks})"
        )
    if (
        recorded.create_time is not None
        and current.create_time is not None
        and abs(recorded.create_time - current.create_time) < _CREATE_TIME_TOLERANCE_S
    ):
        return Verdict.SAME, f"pid {pid} is the recorded process"
    return Verdict.UNKNOWN, (
        f"pid {pid} is running but its recorded start identity cannot be compared with this "
        "platform's, so it cannot be proven to be ours"
    )


def current_process() -> ProcessIdentity:
    me = identify(os.getpid())
    assert me is not None
    return me
