"""Mutation scores per area, the survivors by file and function, and the gate.

`make mutation` runs `mutmut run` (configured in pyproject's `[tool.mutmut]`) and then this:
`python -m tests.mutation_report [--mutants DIR] [--survivors FILE]`. It reads what mutmut
left in mutants/ (one `<source>.meta` JSON per mutated file: each mutant's exit code) and

- prints the score of each area (detected / tested) against its goal;
- lists every surviving mutant, grouped by file and function, each marked with whether
  tests/mutation-survivors.md gives its reason (equivalent mutant, or why no test kills it);
- exits 1 when an area is below its goal, when a mutant survives in a security-relevant
  check (those must all be killed, whatever the score, unless the survivors file shows
  one is equivalent), or when the run is incomplete.

Detected: killed, timed out, killed by a signal (mutmut's own CPU-limit kill), or caught by
the type checker. Not detected: survived, "no tests" (no test that ran in the main process
reached the function) and "suspicious". Skipped mutants are not counted at all.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SURVIVORS_FILE = ROOT / "tests" / "mutation-survivors.md"


@dataclass(frozen=True)
class Area:
    name: str
    title: str
    patterns: tuple[str, ...]  # fnmatch over the source path; the first area that matches wins
    goal: float  # percent


AREAS: tuple[Area, ...] = (
    Area(
        "core",
        "kaizen/signatures + kaizen/workflow",
        ("kaizen/signatures/*", "kaizen/workflow/*"),
        95.0,
    ),
    Area("kaizen", "the rest of kaizen/", ("kaizen/*",), 90.0),
    Area("toolkit", "toolkit logic modules (tests/utils)", ("tests/utils/*",), 90.0),
)

#: Security-relevant checks: a surviving mutant here fails the gate whatever the score.
#: Source path -> function patterns (fnmatch over "func" or "Class.method").
SECURITY_CHECKS: dict[str, tuple[str, ...]] = {
    # secret redaction
    "kaizen/_redact.py": ("*",),
    "kaizen/providers/openai.py": ("OpenAIProvider._redact", "OpenAIProvider.__repr__"),
    "tests/utils/_services/settings.py": ("redact", "SecretURL.*", "ServiceSettings.__repr__"),
    # the cleanup guard
    "tests/utils/_services/isolation.py": (
        "guard",
        "worker_name",
        "test_name",
        "redis_flush",
        "pg_drop_database",
        "mysql_drop_database",
    ),
    # query screening
    "kaizen/dataflow/_sql.py": ("check_query", "check_params"),
    "kaizen/dataflow/mongodb.py": ("_check_document", "_refuse_scripts", "_check_projection"),
    # audit verification and head authentication (and the payload redaction)
    "kaizen/audit/trail.py": (
        "AuditTrail.verify",
        "AuditTrail._head_seal_problems",
        "AuditTrail._seal",
        "_parse_expectations",
        "_expectation_problems",
    ),
    "kaizen/audit/entry.py": ("AuditEntry.content", "AuditEntry.compute_hash", "redact"),
    "kaizen/audit/store.py": ("ChainHead.*",),
}

_DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
_UNDETECTED = {"survived", "no tests", "suspicious"}
# mutmut's exit-code table (mutmut/stats.py, 3.8), copied so the report needs no mutmut import
_STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    2: "check was interrupted by user",
    None: "not checked",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
}
_MUTANT_NAME = re.compile(r"[A-Za-z_][\w.]*\.x[_ǁ][\wǁ]*__mutmut_\d+")


def status_of(exit_code: int | None) -> str:
    return _STATUS_BY_EXIT_CODE.get(exit_code, "suspicious")


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's key, e.g. kaizen._redact.x_redact__mutmut_3
    path: str  # source path, e.g. kaizen/_redact.py
    status: str

    @property
    def function(self) -> str:
        """`func` or `Class.method`, from the key."""
        mangled = self.name.rpartition(".")[2].partition("__mutmut_")[0]
        if mangled.startswith("xǁ"):
            _, cls, meth = mangled.split("ǁ", 2)
            return f"{cls}.{meth}"
        return mangled[2:]

    @property
    def number(self) -> int:
        return int(self.name.rpartition("__mutmut_")[2])


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def tested(self) -> int:
        return sum(n for s, n in self.counts.items() if s != "skipped")

    @property
    def detected(self) -> int:
        return sum(self.counts[s] for s in _DETECTED)

    @property
    def score(self) -> float:
        return 100.0 * self.detected / self.tested if self.tested else 100.0


class ReportError(Exception):
    """The mutation data cannot be read (no run yet, or a malformed file)."""


def source_paths(pyproject: Path = ROOT / "pyproject.toml") -> list[Path]:
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    try:
        return [Path(p) for p in config["tool"]["mutmut"]["source_paths"]]
    except KeyError:
        raise ReportError(f"{pyproject} has no [tool.mutmut] source_paths") from None


def _python_files(paths: Sequence[Path], root: Path) -> Iterator[Path]:
    for path in paths:
        full = root / path
        if full.is_file():
            yield path
        else:
            yield from sorted(p.relative_to(root) for p in full.rglob("*.py"))


def load_mutants(mutants_dir: Path, paths: Sequence[Path], root: Path = ROOT) -> list[Mutant]:
    mutants: list[Mutant] = []
    for path in _python_files(paths, root):
        meta = mutants_dir / f"{path}.meta"
        if not meta.exists():
            continue  # nothing mutable in it (or nothing covered)
        try:
            codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        except (ValueError, KeyError) as exc:
            raise ReportError(f"{meta}: not a mutmut meta file ({exc})") from None
        mutants.extend(Mutant(k, path.as_posix(), status_of(v)) for k, v in codes.items())
    if not mutants:
        raise ReportError(
            f"no mutation results under {mutants_dir}; run `make mutation` (or `mutmut run`) first"
        )
    return mutants


def area_of(path: str) -> Area:
    for area in AREAS:
        if any(fnmatch.fnmatch(path, p) for p in area.patterns):
            return area
    raise ReportError(f"{path} is in no area; add it to AREAS in {__name__}")


def is_security_check(mutant: Mutant) -> bool:
    patterns = SECURITY_CHECKS.get(mutant.path, ())
    return any(fnmatch.fnmatch(mutant.function, p) for p in patterns)


def explained_names(text: str) -> set[str]:
    """Mutant names the survivors file gives a reason for (one per table row)."""
    return set(_MUTANT_NAME.findall(text))


def _numbers(mutants: list[Mutant]) -> str:
    return ", ".join(str(m.number) for m in sorted(mutants, key=lambda m: m.number))


def equivalent_names(text: str) -> set[str]:
    """Mutant names whose reason row says `equivalent`: the only survivors a security check
    may keep (no test can kill them; any other reason there still fails the gate)."""
    names: set[str] = set()
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1].startswith("equivalent"):
            names.update(_MUTANT_NAME.findall(cells[0]))
    return names


def render(
    mutants: list[Mutant], explained: set[str], equivalent: Collection[str] = frozenset()
) -> tuple[str, bool]:
    """The report text and whether the gate passes."""
    lines: list[str] = []
    ok = True
    tallies = {area.name: Tally() for area in AREAS}
    for m in mutants:
        tallies[area_of(m.path).name].counts[m.status] += 1

    header = f"{'area':<8} {'mutants':>7} {'detected':>8} {'survived':>8} {'no tests':>8} "
    header += f"{'other':>5} {'score':>7} {'goal':>5}"
    lines += ["mutation score (detected / tested)", header]
    for area in AREAS:
        t = tallies[area.name]
        other = t.tested - t.detected - t.counts["survived"] - t.counts["no tests"]
        passed = t.score >= area.goal
        ok &= passed
        lines.append(
            f"{area.name:<8} {t.tested:>7} {t.detected:>8} {t.counts['survived']:>8} "
            f"{t.counts['no tests']:>8} {other:>5} {t.score:>6.1f}% {area.goal:>4.0f}%  "
            f"{'ok' if passed else 'BELOW GOAL'}  ({area.title})"
        )
    unchecked = [m for m in mutants if status_of(None) == m.status]
    if unchecked:
        ok = False
        lines.append(f"INCOMPLETE: {len(unchecked)} mutant(s) not checked (run interrupted?)")

    survivors = [m for m in mutants if m.status in _UNDETECTED]
    unexplained = [m for m in survivors if m.name not in explained]
    lines += [
        "",
        f"survivors: {len(survivors)} ({len(unexplained)} without a reason in "
        f"{SURVIVORS_FILE.relative_to(ROOT)}); `mutmut show NAME` prints the diff",
    ]
    by_file: dict[str, dict[str, list[Mutant]]] = defaultdict(lambda: defaultdict(list))
    for m in survivors:
        by_file[m.path][m.function].append(m)
    for path in sorted(by_file):
        lines.append(f"{path} ({sum(len(v) for v in by_file[path].values())})")
        for function, group in sorted(by_file[path].items(), key=lambda kv: -len(kv[1])):
            status = Counter(m.status for m in group)
            kinds = ", ".join(f"{n} {s}" for s, n in status.items() if s != "survived")
            missing = [m for m in group if m.name not in explained]
            note = f" [{kinds}]" if kinds else ""
            if missing:
                some = f": {_numbers(missing)}" if len(missing) < len(group) else ""
                note += f" -- no reason given{some}"
            lines.append(f"  {function} ({len(group)}): {_numbers(group)}{note}")

    security = [m for m in survivors if is_security_check(m)]
    failing = [m for m in security if m.name not in equivalent]
    lines.append("")
    if failing:
        ok = False
        lines.append(f"FAIL: {len(failing)} survivor(s) in security-relevant checks:")
        lines += [f"  {m.name} ({m.status})" for m in failing]
    elif security:
        lines.append(
            f"security-relevant checks: only {len(security)} documented equivalent mutant(s)"
        )
    else:
        lines.append("security-relevant checks: no survivors")
    stale = explained - {m.name for m in survivors}
    if stale:
        lines.append(f"note: {len(stale)} name(s) in the survivors file no longer survive")
    lines.append("mutation gate: " + ("passed" if ok else "FAILED"))
    return "\n".join(lines), ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation_report", description=__doc__)
    parser.add_argument("--mutants", type=Path, default=ROOT / "mutants", help="mutmut's output")
    parser.add_argument("--survivors", type=Path, default=SURVIVORS_FILE, help="reasons file")
    args = parser.parse_args(argv)
    try:
        mutants = load_mutants(args.mutants, source_paths())
        reasons = args.survivors.read_text(encoding="utf-8") if args.survivors.exists() else ""
        text, ok = render(mutants, explained_names(reasons), equivalent_names(reasons))
    except ReportError as exc:
        print(f"mutation report: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
