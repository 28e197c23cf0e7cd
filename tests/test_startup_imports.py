"""Start-up cost (issue 17): commands import only what they need; charts load on first use.

Checked by module names, not by timing (the suite runs on a busy 2-core machine);
bench/startup.py measures the seconds and the memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = next((ROOT / "content" / "articles").glob("*.md"))
NETWORK = ["telegram", "aiohttp", "aiosqlite", "httpx"]
CHARTS = ["matplotlib", "numpy"]

PROBE = """
import contextlib, io, json, sys
from bot.cli import main
out = io.StringIO()
with contextlib.suppress(SystemExit), contextlib.redirect_stdout(out):
    code = main(sys.argv[2:])
print(json.dumps({"out": out.getvalue(), "modules": sorted(m for m in sys.modules
      if m.split(".")[0] in json.loads(sys.argv[1]))}))
"""


def _run(*argv: str, watch: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(watch), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_imports_no_library_at_all() -> None:
    result = _run("--help", watch=[*NETWORK, *CHARTS, "pydantic", "pydantic_settings", "yaml"])
    assert "digest" in result["out"] and "backup" in result["out"]
    assert result["modules"] == []


def test_digest_imports_neither_the_network_stack_nor_charts() -> None:
    result = _run("digest", str(ARTICLE), watch=[*NETWORK, *CHARTS])
    assert "Tóm tắt" in result["out"]
    assert result["modules"] == []


def test_the_bot_starts_without_matplotlib() -> None:
    code = "import sys, bot.app; print([m for m in ('matplotlib', 'numpy') if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
