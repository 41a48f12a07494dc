"""Private stacks: the failure tests' own stacks on free ports, in
<state_dir>/private/<id>, each with an owner file naming the member that made it, so that a
later run can reap one that a SIGKILL orphaned (and never one whose owner is alive).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

from .registry import member_alive, new_member
from .settings import Settings

PRIVATE_DIR = "private"
_OWNER_FILE = "owner"


def make_private_state_dir(settings: Settings) -> Path:
    """A fresh private state directory under the shared one, owned by this process."""
    parent = settings.state_dir / PRIVATE_DIR
    parent.mkdir(parents=True, exist_ok=True)
    for folder in (settings.state_dir, parent):  # the postgres/mysql users must traverse
        os.chmod(folder, 0o755)
    name = uuid.uuid4().hex[:12]
    # Made under a temporary name and renamed: no reader ever sees it without its owner.
    building = parent / f".{name}.new"
    building.mkdir(mode=0o755)
    os.chmod(building, 0o755)
    (building / _OWNER_FILE).write_text(new_member(), encoding="ascii")
    path = parent / name
    building.rename(path)
    return path


def reap_private_stacks(settings: Settings) -> dict[str, str]:
    """Stop what private stacks of dead owners left running, then delete their directories.

    A directory whose owner is alive is not touched; one holding a server that cannot be
    proven ours (refused) is kept, so nothing is deleted under a live process.
    """
    import shutil

    from .stack import Stack  # the stack reaps private stacks when it starts: imported late

    outcome: dict[str, str] = {}
    parent = settings.state_dir / PRIVATE_DIR
    if not parent.is_dir():
        return outcome
    for path in sorted(parent.iterdir()):
        try:
            owner = (path / _OWNER_FILE).read_text(encoding="ascii").strip()
            if member_alive(owner):
                continue
        except (OSError, ValueError):
            continue  # being created right now, or not ours: leave it
        stack = Stack(settings=replace(settings, state_dir=path), owner_kind="cli")
        try:
            stopped = stack.stop_all()
        except Exception as exc:  # a corrupt private state: report, keep the directory
            outcome[f"private {path.name}"] = f"left alone: {exc}"
            continue
        refused = {k: v for k, v in stopped.items() if v.startswith("refused")}
        outcome.update({f"private {path.name}: {k}": v for k, v in stopped.items()})
        if not refused:
            shutil.rmtree(path, ignore_errors=True)
            outcome[f"private {path.name}"] = "directory of a dead owner removed"
    return outcome
