"""The mutation report (tests/mutation_report.py): scores per area, the gate, survivors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import mutation_report as mr


def _project(tmp_path: Path, results: dict[str, dict[str, int | None]]) -> list[mr.Mutant]:
    """A source tree and mutmut's meta files: {source path: {mutant name: exit code}}."""
    for path, codes in results.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x = 1\n")
        meta = tmp_path / "mutants" / f"{path}.meta"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": codes}))
    roots = sorted({Path(p.split("/")[0]) for p in results})
    return mr.load_mutants(tmp_path / "mutants", roots, root=tmp_path)


def _names(module: str, function: str, codes: list[int | None]) -> dict[str, int | None]:
    return {f"{module}.{function}__mutmut_{i}": code for i, code in enumerate(codes, 1)}


def test_scores_per_area_and_the_gate(tmp_path: Path) -> None:
    mutants = _project(
        tmp_path,
        {
            # core: 19 of 20 detected (95%: at the goal); 1 skipped mutant is not counted
            "kaizen/workflow/graph.py": _names("kaizen.workflow.graph", "x_f", [1] * 18 + [36, 0])
            | {"kaizen.workflow.graph.x_g__mutmut_1": 34},
            # rest of kaizen: 9 of 10 (a "no tests" counts as not detected)
            "kaizen/tools/loop.py": _names("kaizen.tools.loop", "xǁLoopǁrun", [1] * 9 + [33]),
            # toolkit: 3 of 4
            "tests/utils/_perf/stats.py": _names("tests.utils._perf.stats", "x_mad", [1, 1, -9, 0]),
        },
    )
    text, ok = mr.render(mutants, explained=set())
    lines = {line.split()[0]: line for line in text.splitlines() if line[:1].isalpha()}
    assert "95.0%" in lines["core"] and "ok" in lines["core"]
    assert "90.0%" in lines["kaizen"] and "ok" in lines["kaizen"]
    assert "75.0%" in lines["toolkit"] and "BELOW GOAL" in lines["toolkit"]
    assert not ok and text.endswith("mutation gate: FAILED")
    assert "  Loop.run (1): 10 [1 no tests] -- no reason given" in text  # method from the key
    assert "  mad (1): 4 -- no reason given" in text


def test_a_survivor_in_a_security_check_fails_whatever_the_score(tmp_path: Path) -> None:
    codes = _names("kaizen._redact", "x_redact", [1] * 99 + [0])
    mutants = _project(tmp_path, {"kaizen/_redact.py": codes})
    text, ok = mr.render(mutants, explained={"kaizen._redact.x_redact__mutmut_100"})
    assert "99.0%" in text and not ok
    assert "FAIL: 1 survivor(s) in security-relevant checks:" in text
    assert "kaizen._redact.x_redact__mutmut_100 (survived)" in text


def test_a_documented_equivalent_mutant_in_a_security_check_passes(tmp_path: Path) -> None:
    codes = _names("kaizen._redact", "x_redact", [1] * 98 + [0, 0])
    mutants = _project(tmp_path, {"kaizen/_redact.py": codes})
    reasons = (
        "| `kaizen._redact.x_redact__mutmut_99` | equivalent: same output for every input |\n"
        "| `kaizen._redact.x_redact__mutmut_100` | not observable: no test sees it |\n"
    )
    explained = mr.explained_names(reasons)
    equivalent = mr.equivalent_names(reasons)
    assert equivalent == {"kaizen._redact.x_redact__mutmut_99"}
    text, ok = mr.render(mutants, explained, equivalent)
    assert not ok  # "not observable" is no excuse in a security check
    assert "FAIL: 1 survivor(s) in security-relevant checks:" in text
    assert "kaizen._redact.x_redact__mutmut_100 (survived)" in text
    assert "x_redact__mutmut_99 (survived)" not in text
    text, ok = mr.render(mutants[:-1], explained, equivalent)  # only the equivalent one left
    assert ok and "security-relevant checks: only 1 documented equivalent mutant(s)" in text


def test_reasons_are_matched_by_name_and_stale_ones_noted(tmp_path: Path) -> None:
    codes = _names("kaizen.tools.loop", "x_run", [1] * 18 + [0, 0])
    mutants = _project(tmp_path, {"kaizen/tools/loop.py": codes})
    reasons = mr.explained_names(
        "| `kaizen.tools.loop.x_run__mutmut_19` | equivalent: ... |\n"
        "| `kaizen.tools.loop.x_run__mutmut_7` | fixed since |\n"
    )
    text, ok = mr.render(mutants, explained=reasons)
    assert ok  # 90% and nothing security-relevant
    assert "survivors: 2 (1 without a reason" in text
    assert "  run (2): 19, 20 -- no reason given: 20" in text
    assert "note: 1 name(s) in the survivors file no longer survive" in text


def test_an_unfinished_run_fails(tmp_path: Path) -> None:
    mutants = _project(
        tmp_path, {"kaizen/tools/loop.py": _names("kaizen.tools.loop", "x_r", [1, None])}
    )
    text, ok = mr.render(mutants, explained=set())
    assert not ok and "INCOMPLETE: 1 mutant(s) not checked" in text


def test_no_results_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "kaizen").mkdir()
    with pytest.raises(mr.ReportError, match="run `make mutation`"):
        mr.load_mutants(tmp_path / "mutants", [Path("kaizen")], root=tmp_path)


def test_the_configured_paths_are_each_in_an_area() -> None:
    for path in mr._python_files(mr.source_paths(), mr.ROOT):
        mr.area_of(path.as_posix())  # raises for a path in no area
