"""CLI argument handling and the status table."""

from __future__ import annotations

import pytest

from tests.utils._services.cli import format_table, main


def test_status_table_has_the_documented_columns() -> None:
    rows = [
        {
            "service": "redis",
            "backend": "local",
            "endpoint": "127.0.0.1:6380",
            "version": "Redis 7",
            "started": "2026-01-01T00:00:00+00:00",
            "id": "container 0123456789ab",
            "health": "healthy",
        }
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == [
        "SERVICE",
        "BACKEND",
        "ENDPOINT",
        "VERSION",
        "STARTED",
        "ID",
        "HEALTH",
    ]
    assert lines[1].split()[:3] == ["redis", "local", "127.0.0.1:6380"]
    assert "container 0123456789ab" in lines[1], "status names the container (or the pid)"


def test_unknown_service_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as err:
        main(["up", "oracle"])
    assert err.value.code == 2
    assert "invalid choice: 'oracle'" in capsys.readouterr().err
