"""The deletion guard of `make mutation`: a mutant may destroy files only under the roots
listed in KAIZEN_MUTATION_GUARD_ROOTS (os.pathsep-separated).

Why: a mutant is the toolkit's own code made wrong on purpose, run as whoever runs the
tests (root, on our machines). A mutant of `remove_data_dir`'s containment check, run by a
test that asked it to delete a path outside the state directory, once deleted the machine's
/etc. Every test now aims such refusals at victims of its own, and this guard makes sure
a mutant cannot get further: removing, renaming over or truncating anything outside the
roots raises PermissionError (an OSError, so callers fail as on a read-only file system).

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


if os.environ.get(ROOTS_ENV):
    install(os.environ[ROOTS_ENV].split(os.pathsep))
