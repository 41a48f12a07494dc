"""The testing toolkit's one error root.

Every exception class the toolkit defines derives from `ToolkitError`, so a test (or the
lead reading a failure) can tell "the toolkit refused or broke" from "the code under test
failed" with one `except ToolkitError`. As in `kaizen/errors.py`, the builtin base a class
had before stays as a mixin after the root (`class FaultError(ToolkitError, RuntimeError)`),
so callers that catch `ValueError`, `RuntimeError`, `AssertionError` or a kaizen error keep
working.

This module imports nothing: every part of the toolkit can use it without cost.
"""

from __future__ import annotations

__all__ = ["ToolkitError"]


class ToolkitError(Exception):
    """Base of every error raised by the testing toolkit (`tests/utils`)."""
