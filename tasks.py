#!/usr/bin/env python3
"""Set-up and everyday tasks with nothing but Python and pip: a .venv made on first use.

python3 tasks.py run     # install Loa into .venv and start the bot (needs LOA_BOT_TOKEN)
python3 tasks.py test    # install Loa with its dev tools into .venv and run the test suite
python3 tasks.py lint    # ruff check + ruff format --check + mypy on the bot package
python3 tasks.py bench   # run the benchmark scripts under bench/
python3 tasks.py lock    # re-pin constraints.txt from the dev venv (after changing deps)
python3 tasks.py docs    # rewrite README's settings/commands tables and .env.example
python3 tasks.py loa ARGS  # run any `loa` sub-command from the venv
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LOA_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
CONSTRAINTS = "constraints.txt"


def _ensure_venv(extras: str) -> None:
    """Create .venv and (re)install the project when pyproject.toml or the extras changed."""
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (OSError, subprocess.CalledProcessError) as exc:
            # Debian/Ubuntu ship venv's pip separately (package python3-venv).
            sys.exit(f"cannot create {VENV} ({exc}); on Debian/Ubuntu: apt install python3-venv")
    pins = (ROOT / CONSTRAINTS).read_bytes() if (ROOT / CONSTRAINTS).exists() else b""
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + pins + extras.encode()
    ).hexdigest()
    stamp = VENV / f".loa-installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    # constraints.txt pins every package (the lock file); pyproject.toml keeps the ranges.
    pin = ["-c", str(ROOT / CONSTRAINTS)] if (ROOT / CONSTRAINTS).exists() else []
    _run([str(PYTHON), "-m", "pip", "install", "--quiet", *pin, "-e", target])
    stamp.write_text(digest)


def _run(cmd: list[str]) -> None:
    """Run a command from the project root; stop with its exit code on failure."""
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main(argv: list[str]) -> int:
    """Dispatch the task named on the command line."""
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task == "run":
        _ensure_venv("webhooks")  # webhook mode needs it; polling does not mind
        os.execv(str(BIN / "loa"), [str(BIN / "loa"), "run", *rest])
    if task == "test":
        _ensure_venv("dev")
        _run([str(PYTHON), "-m", "pytest", *rest])
        return 0
    if task == "lint":
        _ensure_venv("dev")
        _run([str(PYTHON), "-m", "ruff", "check", "."])
        _run([str(PYTHON), "-m", "ruff", "format", "--check", "."])
        _run([str(PYTHON), "-m", "mypy"])
        return 0
    if task == "bench":
        _ensure_venv("dev")
        for script in sorted((ROOT / "bench").glob("*.py")):
            if not script.name.startswith("_"):
                _run([str(PYTHON), "-m", f"bench.{script.stem}", *rest])
        return 0
    if task == "lock":
        _ensure_venv("dev")
        frozen = subprocess.run(
            [str(PYTHON), "-m", "pip", "freeze", "--exclude-editable"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        head = (
            (ROOT / CONSTRAINTS).read_text().splitlines()[:3]
            if (ROOT / CONSTRAINTS).exists()
            else []
        )
        pins = [line for line in frozen.splitlines() if line and not line.startswith(("-e", "loa"))]
        (ROOT / CONSTRAINTS).write_text(
            "\n".join([*[h for h in head if h.startswith("#")], *pins]) + "\n"
        )
        print(f"wrote {CONSTRAINTS} ({len(pins)} pins)")
        return 0
    if task == "docs":
        _ensure_venv("dev")
        _run([str(PYTHON), "-m", "bot.docs"])
        return 0
    if task == "loa":
        _ensure_venv("dev")
        os.execv(str(BIN / "loa"), [str(BIN / "loa"), *rest])
    print(__doc__)
    return 0 if task in {"help", "-h", "--help"} else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
