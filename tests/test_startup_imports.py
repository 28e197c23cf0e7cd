"""Start-up cost (issue 17): commands import only what they need; charts load on first use.

Checked by module names, not by timing (the suite runs on a busy 2-core machine);
bench/startup.py measures the seconds and the memory.
"""

from __future__ import annotations

import json
import os
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


def _probe(script: str, *argv: str) -> dict:
    """Run a probe script in a fresh interpreter; the JSON object of its last line."""
    done = subprocess.run(
        [sys.executable, "-c", script, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run(*argv: str, watch: list[str]) -> dict:
    return _probe(PROBE, json.dumps(watch), *argv)


def test_help_imports_no_library_at_all() -> None:
    result = _run("--help", watch=[*NETWORK, *CHARTS, "pydantic", "pydantic_settings", "yaml"])
    assert "digest" in result["out"] and "backup" in result["out"]
    assert result["modules"] == []


def test_digest_imports_neither_the_network_stack_nor_charts() -> None:
    result = _run("digest", str(ARTICLE), watch=[*NETWORK, *CHARTS, "pydantic_settings"])
    assert "Tóm tắt" in result["out"]
    assert result["modules"] == []


RAW = ROOT / "tests" / "data" / "articles" / "07-ket-nap-dang-vien.txt"  # 3 summary sentences


def _digest(tmp_path: Path, env: dict[str, str], dotenv: str | None = None) -> tuple[int, dict]:
    """`loa digest --json RAW` from a folder (with that .env), under `env`; (exit, JSON)."""
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("LOA_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--json", "--date", "01/01/2024", str(RAW)],
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return done.returncode, {"err": done.stderr}
    return done.returncode, json.loads(done.stdout)


def test_digest_without_settings_still_honours_the_summary_setting(tmp_path: Path) -> None:
    """`loa digest` skips building Settings only while LOA_SUMMARY_SENTENCES is unset: set
    in the environment (any case) or in .env, it is read and validated as always."""
    code, default = _digest(tmp_path, {})
    assert code == 0 and len(default["summary"]) == 3
    code, from_env = _digest(tmp_path, {"loa_summary_sentences": "1"})
    assert code == 0 and from_env["summary"] == default["summary"][:1]
    code, from_file = _digest(tmp_path, {}, dotenv="LOA_SUMMARY_SENTENCES=2\n")
    assert code == 0 and from_file["summary"] == default["summary"][:2]
    code, wrong = _digest(tmp_path, {"LOA_SUMMARY_SENTENCES": "9"})
    assert code == 2 and "LOA_SUMMARY_SENTENCES" in wrong["err"] and "Traceback" not in wrong["err"]


def test_the_bot_starts_without_matplotlib() -> None:
    code = "import sys, bot.app; print([m for m in ('matplotlib', 'numpy') if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


BUILD = """
import json, sys, tempfile
from datetime import date
from pathlib import Path
from bot.app import build_application
from bot.domain.workdays import WorkCalendar
from tests.harness import make_settings
web = sys.argv[1] == "web"
extra = {"web_port": 0, "web_url": "https://console.example.vn"} if web else {}
app = build_application(make_settings(Path(tempfile.mkdtemp()), "http://127.0.0.1:9/bot", **extra))
calendar = WorkCalendar()
print(json.dumps({
    "tet_is_workday": calendar.is_workday(date(2025, 1, 28)),
    "console": "console" in app.bot_data["services"].features,
    "modules": sorted(m for m in ("jinja2", "aiohttp.web", "holidays", "openpyxl", "httpcore")
                      if m in sys.modules),
}))
"""


def _build(mode: str) -> dict:
    return _probe(BUILD, mode)


def test_idle_bot_leaves_the_console_and_the_holidays_library_out() -> None:
    """Idle memory (issue 17): without LOA_WEB_PORT/URL the console's server and templates
    are not imported; public holidays come from a child process (Tết is still a day off)."""
    result = _build("plain")
    assert result == {"tet_is_workday": False, "console": False, "modules": []}


def test_the_console_is_installed_when_it_is_configured() -> None:
    result = _build("web")
    assert result["console"] is True
    assert "jinja2" in result["modules"] and "aiohttp.web" in result["modules"]
