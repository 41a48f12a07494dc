"""The guard of `make mutation`: a mutant may destroy files only under the roots listed in
KAIZEN_MUTATION_GUARD_ROOTS (os.pathsep-separated), and signal only processes of the
mutation run's own tree (below KAIZEN_MUTATION_GUARD_PID).

Why: a mutant is the toolkit's own code made wrong on purpose, run as whoever runs the
tests (root, on our machines). A mutant of `remove_data_dir`'s containment check, run by a
test that asked it to delete a path outside the state directory, once deleted the machine's
/etc. Every test now aims such refusals at victims of its own, and this guard makes sure
a mutant cannot get further: removing, renaming over or truncating anything outside the
roots raises PermissionError (an OSError, so callers fail as on a read-only file system).
Likewise a mutant of the process-identity code could signal a PID it cannot prove is its
own (one SIGTERMed the shell that ran `make mutation`): a signal raises PermissionError
unless its target is below the run's first guarded process (mutmut's, or a bare pytest
session), or was started within the run: it carries KAIZEN_MUTATION_GUARD_PID in its
environment, or it started after the run's first process and works in one of the run's
directories (KAIZEN_MUTATION_GUARD_CWDS: a server whose parent, say the CLI's `up`, has
exited since, and which overwrote its environment with its process title, as Redis does).

This file is a `sitecustomize` so that it also guards the Python processes that tests start
(the CLI, servers written in Python): `tests.mutation_state` puts this directory first on
their PYTHONPATH and installs the same hook in the test process itself. It imports nothing
of the repository, so it works in any child.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

ROOTS_ENV = "KAIZEN_MUTATION_GUARD_ROOTS"
PID_ENV = "KAIZEN_MUTATION_GUARD_PID"
CWDS_ENV = "KAIZEN_MUTATION_GUARD_CWDS"

#: audit event -> (path argument, its directory-fd argument or None), per destroyed path
_DESTROYING: dict[str, tuple[tuple[int, int | None], ...]] = {
    "os.remove": ((0, 1),),  # os.remove and os.unlink: (path, dir_fd)
    "os.rmdir": ((0, 1),),
    "os.rename": ((0, 2), (1, 3)),  # rename/replace: the source goes, the target is replaced
    "os.truncate": ((0, None),),  # (path or fd, length)
    "shutil.rmtree": ((0, 1),),
    "open": ((0, None),),  # (path, mode, flags): only with O_TRUNC
}


#: kernel interfaces, not files: writing one (say /proc/self/clear_refs) loses no data
_VIRTUAL = ("/proc/", "/sys/", "/dev/")


def _inside(path: str, roots: Sequence[str], *, contents: bool) -> bool:
    if contents:  # truncation: what is destroyed is the file a link points to
        full = os.path.realpath(path)
        if not os.path.isfile(full) or full.startswith(_VIRTUAL):
            return True  # a new file, a device, /proc/self/clear_refs: no data is lost
    else:  # removal or renaming: the link itself goes, so resolve only its directory
        full = os.path.join(
            os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path)
        )
    return any(full == r or full.startswith(r + os.sep) for r in roots)


def install(roots: Sequence[str]) -> None:
    """Refuse, for the rest of this process, to destroy a file outside `roots`."""
    resolved = tuple(os.path.realpath(r) for r in roots if r)

    def hook(event: str, args: tuple[object, ...]) -> None:
        spec = _DESTROYING.get(event)
        if spec is None:
            return
        if event == "open" and not (isinstance(args[2], int) and args[2] & os.O_TRUNC):
            return
        for at, fd_at in spec:
            path = args[at]
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if not isinstance(path, str):
                continue  # a file descriptor
            fd = args[fd_at] if fd_at is not None else None
            if isinstance(fd, int) and fd >= 0 and not os.path.isabs(path):  # -1: none given
                continue  # relative to a directory fd: rmtree's own steps, checked at its root
            if not _inside(path, resolved, contents=event in ("open", "os.truncate")):
                raise PermissionError(
                    f"make mutation's deletion guard: {event} of {path!r} refused: outside "
                    f"the roots a mutant may touch ({', '.join(resolved)})"
                )

    sys.addaudithook(hook)


def _stat(pid: int, field: int) -> int | None:
    """A numeric field of /proc/<pid>/stat, counted after the command name (state is 0)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rpartition(b")")[2].split()[field])
    except (OSError, ValueError, IndexError):
        return None


def _parent(pid: int) -> int | None:
    return _stat(pid, 1)


def in_tree(pid: int, root: int) -> bool:
    """True when `pid` is `root` or below it (the parent chain, read from /proc)."""
    seen = 0
    while pid > 1 and seen < 4096:
        if pid == root:
            return True
        parent = _parent(pid)
        if parent is None:
            return False
        pid, seen = parent, seen + 1
    return pid == root


def started_in_run(pid: int, root: int) -> bool:
    """True when `pid` inherited this run's marker (its parent may have exited since)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return f"{PID_ENV}={root}".encode() in environ.read().split(b"\0")
    except OSError:
        return False


def works_in_run(pid: int, root: int, cwds: Sequence[str]) -> bool:
    """Started after `root` and working in one of the run's directories."""
    started, root_started = _stat(pid, 19), _stat(root, 19)  # start time, clock ticks
    if started is None or root_started is None or started < root_started:
        return False
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    # entries are prefixes: a directory ending in a separator, or "/tmp/pytest-of-"
    return any(cwd.startswith(c) or cwd + os.sep == c for c in cwds if c)


def install_signal_guard(root: int, cwds: Sequence[str] = ()) -> None:
    """Refuse, for the rest of this process, signals to processes that are not the run's
    own (signal 0, the existence probe, is always allowed)."""

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event not in ("os.kill", "os.killpg"):
            return
        target, sig = args[0], args[1]
        if sig == 0 or not isinstance(target, int):
            return
        if target <= 0 or not (
            in_tree(target, root)
            or started_in_run(target, root)
            or works_in_run(target, root, cwds)
        ):
            raise PermissionError(
                f"make mutation's guard: {event}({target}, {sig}) refused: not a process of "
                f"this mutation run (pid {root} and what it started)"
            )

    sys.addaudithook(hook)


if os.environ.get(ROOTS_ENV):
    install(os.environ[ROOTS_ENV].split(os.pathsep))
if os.environ.get(PID_ENV, "").isdigit():
    install_signal_guard(int(os.environ[PID_ENV]), os.environ.get(CWDS_ENV, "").split(os.pathsep))
