"""`make bench-peer`'s goal checks (tests/benchmarks/peer.py): the floor goals, and the
issue's bare-`type()` goal reported as below the floor only when the subclass floor is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.benchmarks import peer


def _rows(*, floor: float, subclass: float, over: dict[str, float]) -> dict[str, Any]:
    rows: dict[str, Any] = {
        "type_floor": {"unit": "us", "ours": floor, "ratio_peer_over_ours": 1.0},
        "type_floor_subclass_same_body": {
            "unit": "us",
            "ours": subclass,
            "ratio_peer_over_ours": 1.0,
        },
    }
    for floor_row, ratio in over.items():
        rows[f"signature_class_over_{floor_row}"] = {"unit": "x", "ours": ratio}
    return rows


def _by_floor(checks: list[tuple[str, bool | None]]) -> dict[str, bool | None]:
    return {text.split()[2]: ok for text, ok in checks}


def test_bare_type_goal_is_below_the_floor_when_a_plain_subclass_already_misses_it() -> None:
    rows = _rows(
        floor=6.0,
        subclass=8.4,  # 1.4x: no validating class can reach 1.3x
        over={"type_floor": 1.55, "type_floor_subclass_same_body": 1.21},
    )
    checks = peer._floor_goals(rows)
    assert _by_floor(checks) == {"type_floor": None, "type_floor_subclass_same_body": True}
    assert "is itself 1.40x type_floor" in checks[0][0]


@pytest.mark.parametrize(("ratio", "ok"), [(1.55, False), (1.29, True)])
def test_bare_type_goal_counts_when_the_subclass_floor_is_under_it(ratio: float, ok: bool) -> None:
    rows = _rows(floor=6.0, subclass=7.2, over={"type_floor": ratio})  # floor 1.2x
    assert _by_floor(peer._floor_goals(rows)) == {"type_floor": ok}


def test_a_class_over_the_subclass_floor_limit_is_missed() -> None:
    rows = _rows(floor=6.0, subclass=8.4, over={"type_floor_subclass_same_body": 1.31})
    assert _by_floor(peer._floor_goals(rows)) == {"type_floor_subclass_same_body": False}


def test_every_goal_has_a_mark() -> None:
    rows = _rows(floor=6.0, subclass=8.4, over={"type_floor": 1.55})
    assert {ok for _, ok in peer._goals(rows)} <= set(peer._GOAL_MARK)
