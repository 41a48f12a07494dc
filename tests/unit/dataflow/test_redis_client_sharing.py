"""RedisDatabase makes one client however many threads reach for it first at once."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kaizen.dataflow.redis import RedisDatabase


def test_racing_first_uses_share_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    redis = pytest.importorskip("redis")
    made: list[object] = []
    all_inside = threading.Barrier(8, timeout=0.2)

    def slow_from_url(url: str, **kwargs: object) -> object:
        # hold every racer inside creation at once (only possible without a lock)
        with contextlib.suppress(threading.BrokenBarrierError):
            all_inside.wait()
        client = object()
        made.append(client)
        return client

    monkeypatch.setattr(redis.Redis, "from_url", staticmethod(slow_from_url))
    db = RedisDatabase("redis://127.0.0.1:1/0")
    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: db.client, range(8)))
    assert len(made) == 1 and all(c is made[0] for c in clients)
