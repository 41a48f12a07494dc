"""Build step: assemble and check the Gemma GGUF once, with the server's own models.py.

Why the mtime is rounded: models.py's stamp records the file's mtime in nanoseconds, and an
image layer keeps whole seconds only; without rounding (and re-stamping) every container
would find the stamp stale and re-assemble 253 MB at start (about 10 s).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, "/opt/kzt/prefetch")
import kzt_models  # models.py of tests/utils/ollama_server, copied alone

cache = Path(sys.argv[1])
target, digest = kzt_models.ensure_gguf(cache)
stamp = target.with_suffix(".checked.json")
whole = target.stat().st_mtime_ns // 1_000_000_000 * 1_000_000_000
os.utime(target, ns=(whole, whole))
recorded = json.loads(stamp.read_text())
if set(recorded) != {"sha256", "size", "mtime_ns"}:
    raise SystemExit(f"prefetch.py: the stamp format changed ({sorted(recorded)}); update me")
recorded["mtime_ns"] = whole
stamp.write_text(json.dumps(recorded))
if kzt_models.ensure_gguf(cache) != (target, digest) or target.stat().st_mtime_ns != whole:
    raise SystemExit("prefetch.py: the stamp does not hold after rounding the mtime")
print(f"prefetched {target} ({digest[:12]})")
