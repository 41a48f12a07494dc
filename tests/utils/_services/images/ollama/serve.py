"""Container entrypoint: the project's LLM server on OLLAMA_HOST, as `ollama serve` would.

Why a wrapper: the server binds loopback only, which is right on a host; inside a container
a published port reaches it only through the container's own interface (the host side of
the publish is 127.0.0.1 only: see the container spec and docker-compose.test.yml). So it
asks for that with --in-container, which the server grants only as a container's first
process (this script runs it in-process, as the exec-form entrypoint). Extra
arguments go to the server.
"""

from __future__ import annotations

import os
import sys

import ollama_server.__main__ as server


def main() -> int:
    host, _, port = os.environ.get("OLLAMA_HOST", "0.0.0.0:11434").rpartition(":")
    argv = ["--host", host or "0.0.0.0", "--port", port or "11434", "--in-container"]
    return int(server.main([*argv, *sys.argv[1:]]))


if __name__ == "__main__":
    raise SystemExit(main())
