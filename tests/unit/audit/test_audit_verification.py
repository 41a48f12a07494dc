"""What `verify()` reports for each kind of tampering, field by field (kind, seq, entry id,
the message that names it), and the persisted formats a stored trail depends on."""

from __future__ import annotations

import pytest

from kaizen.audit import AuditTrail, InMemoryAuditStore
from kaizen.audit.entry import GENESIS_HASH, AuditEntry
from kaizen.audit.errors import AuditIntegrityError
from kaizen.audit.store import ChainHead
from kaizen.audit.trail import AuditProblem, VerificationReport
from kaizen.errors import ConfigurationError

KEY = b"k" * 32


def _trail(n: int = 5, key: bytes | None = None) -> tuple[AuditTrail, InMemoryAuditStore]:
    store = InMemoryAuditStore()
    trail = AuditTrail(store, key=key)
    for i in range(n):
        trail.record("agent_run", actor=f"a{i}", action="run", payload={"i": i})
    return trail, store


def _problems(report: VerificationReport) -> list[tuple[str, int | None, str | None]]:
    return [(p.kind, p.seq, p.entry_id) for p in report.problems]


def _entry(store: InMemoryAuditStore, seq: int) -> AuditEntry:
    return next(e for e in store.entries() if e.seq == seq)


# -- persisted formats: a trail written by one release must verify in the next -------------


def test_head_seal_format_is_stable() -> None:
    """The seal is stored beside the trail (PostgreSQL's head row). It is SHA-256 (HMAC-SHA256
    with a key) of {"count":3,"hash":"abab...","kaizen_audit_head":1,"seq":3}."""
    head = ChainHead(3, "ab" * 32, 3)
    assert head.compute_seal() == "3f3f902ca7392a60741b31d80cc951a2a149a55cfef97cda237b8e92a0c3b15a"
    assert head.compute_seal(KEY) == (
        "3c0f5298fb64503f951918657a9a794e501af4c2e84caf926bc092d10faf46d5"
    )


def test_entry_hash_format_is_stable() -> None:
    entry = AuditEntry(
        1, "e1", "2026-01-01T00:00:00.000000+00:00", "agent_run", "a", "run", "ok", {"n": 1}
    )
    assert entry.compute_hash() == (
        "df667b8dfe1ee63a5512023bfa48c4fece2acaccc5c25ff6f102e70b5b1691ca"
    )
    assert entry.compute_hash(KEY) == (
        "afd8e0333494de777b7ee49d37c2720ee5ae579d2690297853abcec1831adecc"
    )


def test_keyed_seal_covers_seq_hash_and_count() -> None:
    base = ChainHead(3, "ab" * 32, 3)
    others = [ChainHead(4, "ab" * 32, 3), ChainHead(3, "cd" * 32, 3), ChainHead(3, "ab" * 32, 4)]
    for key in (None, KEY):
        assert len({base.compute_seal(key), *(h.compute_seal(key) for h in others)}) == 4
    assert base.compute_seal(KEY) != base.compute_seal(b"j" * 32)


# -- the report's own fields -----------------------------------------------------------------


def test_intact_trail_report() -> None:
    trail, _ = _trail()
    report = trail.verify()
    assert (report.ok, report.checked, report.head_seq, report.problems) == (True, 5, 5, ())
    assert report.to_dict() == {"ok": True, "checked": 5, "head_seq": 5, "problems": []}
    report.raise_if_broken()  # nothing to raise


def test_empty_trail_verifies_with_and_without_expectations() -> None:
    for trail in (AuditTrail(), AuditTrail(key=KEY)):
        report = trail.verify(min_entries=0, expected_head=f"0:{GENESIS_HASH}")
        assert (report.ok, report.checked, report.head_seq) == (True, 0, 0)


def test_report_to_dict_names_every_problem() -> None:
    trail, store = _trail()
    store._tamper_replace(3, outcome="failed")
    victim = _entry(store, 3)
    report = trail.verify()
    assert report.to_dict() == {
        "ok": False,
        "checked": 5,
        "head_seq": 5,
        "problems": [
            {
                "kind": "edited",
                "seq": 3,
                "entry_id": victim.entry_id,
                "message": f"entry {victim.entry_id} (agent_run by a2) no longer matches its "
                "recorded hash",
            }
        ],
    }
    with pytest.raises(AuditIntegrityError) as info:
        report.raise_if_broken()
    assert info.value.problems == report.problems


def test_problem_text_names_kind_and_place() -> None:
    assert str(AuditProblem("edited", 3, "e", "m")) == "edited at seq 3: m"
    assert str(AuditProblem("missing", None, None, "m")) == "missing at trail: m"


def test_missing_storage_report_fields() -> None:
    class Dropped(InMemoryAuditStore):
        def missing(self) -> tuple[str, ...]:
            return ("table t",)

    report = AuditTrail(Dropped()).verify()
    assert report.to_dict()["ok"] is False
    assert (report.checked, report.head_seq) == (0, 0)
    assert _problems(report) == [("missing", None, None)]


# -- each kind of tampering ------------------------------------------------------------------


def test_reordered_entry_names_where_it_was_written() -> None:
    trail, store = _trail()
    second, third = _entry(store, 2), _entry(store, 3)
    store._tamper_replace(2, seq=99)
    store._tamper_replace(3, seq=2)
    store._tamper_replace(99, seq=3)
    report = trail.verify()
    found = {(p.kind, p.seq, p.entry_id): p.message for p in report.problems}
    assert found[("reordered", 2, third.entry_id)] == (
        f"entry {third.entry_id} was written after seq 3 ({second.entry_id}) but now stands "
        "at seq 2"
    )
    assert ("reordered", 3, second.entry_id) in found


def test_broken_link_names_the_rehashed_entry_before_it() -> None:
    trail, store = _trail()
    victim = _entry(store, 2)
    forged = AuditEntry(**{**victim.to_dict(), "outcome": "failed"})
    store._tamper_replace(2, outcome="failed", hash=forged.compute_hash())
    third = _entry(store, 3)
    report = trail.verify()
    assert _problems(report) == [("broken_link", 3, third.entry_id)]
    assert report.problems[0].message == (
        f"entry {third.entry_id} links to a hash no entry has: seq 2 was edited and "
        "re-hashed, or replaced"
    )


def test_renumbered_entry_that_links_correctly_is_reordered() -> None:
    trail, store = _trail()
    last = _entry(store, 5)
    store._tamper_replace(5, seq=7)
    report = trail.verify()
    assert ("reordered", 7, last.entry_id) in _problems(report)
    assert "is numbered 7, expected 5" in report.problems[0].message


def test_every_entry_deleted_is_a_truncation_to_nothing() -> None:
    trail, store = _trail(3)
    for seq in (1, 2, 3):
        store._tamper_delete(seq)
    report = trail.verify()
    assert (report.ok, report.checked, report.head_seq) == (False, 0, 3)
    assert _problems(report) == [("truncated", 3, None)]
    assert report.problems[0].message == (
        "the head records 3 entries ending at seq 3, the table holds 0 ending at seq 0: "
        "entries after seq 0 were deleted"
    )


def test_head_pointing_elsewhere_with_all_entries_present_is_a_broken_link() -> None:
    """Same count, another hash: nothing was deleted, so it is not called a truncation."""
    trail, store = _trail()
    head = store.head()
    store._tamper_head(hash="f" * 64, seal=ChainHead(head.seq, "f" * 64, head.count).compute_seal())
    report = trail.verify()
    assert _problems(report) == [("broken_link", 5, None)]
    assert report.problems[0].message == (
        "the head records 5 entries ending at seq 5, the table holds 5 ending at seq 5"
    )


# -- the head's seal -------------------------------------------------------------------------


def test_head_stripped_of_its_seal_is_forged() -> None:
    for key in (None, KEY):
        trail, store = _trail(key=key)
        store._tamper_head(seal="")
        report = trail.verify()
        assert _problems(report) == [("forged_head", 5, None)]
        message = report.problems[0].message
        assert message.startswith("the head row (seq 5, count 5) carries no seal: ")
        assert "it was rewritten outside kaizen" in message


def test_wrong_seal_message_says_what_a_key_would_change() -> None:
    unkeyed, store = _trail()
    store._tamper_head(seal="0" * 64)
    message = unkeyed.verify().problems[0].message
    assert "carries a seal that does not match: it was rewritten outside kaizen;" in message
    assert "pass key= to AuditTrail" in message
    keyed, store = _trail(key=KEY)
    store._tamper_head(seal="0" * 64)
    message = keyed.verify().problems[0].message
    assert "carries a seal that does not match: it was rewritten outside kaizen (this is " in (
        message
    )
    assert "verified with a different key" in message and "pass key=" not in message


def test_genesis_head_with_a_forged_seal_is_caught() -> None:
    """Only an unsealed genesis head needs no proof; a sealed one must carry the right seal."""
    trail = AuditTrail(InMemoryAuditStore())
    assert trail.verify().ok
    trail.store._tamper_head(seal="0" * 64)  # type: ignore[attr-defined]
    assert _problems(trail.verify()) == [("forged_head", 0, None)]
    genuine = ChainHead(0, GENESIS_HASH, 0).compute_seal()
    trail.store._tamper_head(seal=genuine)  # type: ignore[attr-defined]
    assert trail.verify().ok


# -- expectations from outside the store -----------------------------------------------------


def test_min_entries_on_an_empty_trail() -> None:
    report = AuditTrail().verify(min_entries=1)
    assert _problems(report) == [("truncated", None, None)]
    assert report.problems[0].message.startswith(
        "the trail holds 0 entries (ending at seq 0), at least 1 were expected"
    )


def test_expected_head_at_genesis_that_does_not_match() -> None:
    trail, _ = _trail(2)
    report = trail.verify(expected_head=f"0:{'1' * 64}")
    assert _problems(report) == [("edited", 0, None)]
    assert report.problems[0].message == (
        "the head recorded elsewhere (0:1111111111111111...) does not match entry seq 0 "
        "(0000000000000000...): the chain was rewritten up to it"
    )


def test_expected_head_whose_entry_was_rewritten() -> None:
    trail, store = _trail()
    recorded = f"3:{_entry(store, 3).hash}"
    store._tamper_replace(3, hash="e" * 64)
    report = trail.verify(expected_head=recorded)
    third = _entry(store, 3)
    expectation = report.problems[-1]
    assert (expectation.kind, expectation.seq, expectation.entry_id) == (
        "edited",
        3,
        third.entry_id,
    )
    assert expectation.message == (
        f"the head recorded elsewhere ({recorded[:18]}...) does not match entry seq 3 "
        "(eeeeeeeeeeeeeeee...): the chain was rewritten up to it"
    )


def test_expected_head_whose_entry_is_missing_in_the_middle() -> None:
    trail, store = _trail()
    recorded = f"3:{_entry(store, 3).hash}"
    store._tamper_delete(3)
    expectation = trail.verify(expected_head=recorded).problems[-1]
    assert (expectation.kind, expectation.seq, expectation.entry_id) == ("truncated", 3, None)
    assert expectation.message == (
        f"the head recorded elsewhere ({recorded[:18]}...) does not match any entry: seq 3 "
        "is missing"
    )


def test_expected_head_beyond_the_end_names_the_cut() -> None:
    trail, store = _trail()
    recorded = trail.head_digest()
    store._tamper_delete(5)
    expectation = trail.verify(expected_head=recorded).problems[-1]
    assert (expectation.kind, expectation.seq, expectation.entry_id) == ("truncated", 5, None)
    assert expectation.message == (
        f"the head recorded elsewhere ({recorded[:18]}...) is not in the trail, which ends at "
        "seq 4: entries after seq 4 were deleted"
    )


@pytest.mark.parametrize(
    ("kwargs", "key", "says"),
    [
        ({"min_entries": -1}, "min_entries", "must be a non-negative int or None, got -1"),
        ({"expected_head": "1:" + "0" * 63 + "X"}, "expected_head", "'<seq>:<64 hex>'"),
        ({"expected_head": "1:" + "A" * 64}, "expected_head", "'<seq>:<64 hex>'"),
    ],
)
def test_bad_expectations_name_the_argument(kwargs: dict, key: str, says: str) -> None:
    trail, _ = _trail(1)
    with pytest.raises(ConfigurationError) as info:
        trail.verify(**kwargs)
    assert info.value.key == key and says in str(info.value)
