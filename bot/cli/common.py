"""What every `loa` sub-command shares: one way to declare a command (description and
example in --help), one date parser, one overwrite policy for output files, one
progress bar, and the one-line error for a user's mistake.

Kept light: imported at `loa --help`, so nothing heavy at module level (tqdm is
imported inside `progress`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Docker runs Loa as this user and group (Dockerfile); bind-mounted folders need it.
DOCKER_UID = 10001


class UsageError(Exception):
    """A user's mistake on the command line; main() prints `loa: <message>`, exit 2."""


def command(
    sub: Any, name: str, summary: str, example: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """Add a sub-command whose --help has a one-line description and an example."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=summary[:1].upper() + summary[1:] + ".",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )
    return parser


def day(value: str) -> dt.date:
    """argparse type for a day: dd/mm/yyyy or yyyy-mm-dd (the forms the bot accepts too)."""
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{value!r} is not a date: use dd/mm/yyyy or yyyy-mm-dd")


def positive_int(value: str) -> int:
    """argparse type for a count such as --limit: a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def add_force(parser: argparse.ArgumentParser) -> None:
    """The one --force flag of every command that writes a file."""
    parser.add_argument(
        "--force", action="store_true", help="overwrite the output file if it exists"
    )


def output_file(path: str | Path, *, force: bool, option: str = "-o") -> Path:
    """Check an output file before any work: its folder exists (created if missing) and is
    writable, it is not a folder, and an existing file is replaced only with --force.
    UsageError otherwise (an OSError when the folder cannot be created)."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {target}: is a folder; give a file name inside it")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        folder.mkdir(parents=True)  # an OSError here is main()'s one line naming the folder
    if not folder.is_dir():
        raise UsageError(f"{option} {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {target}: cannot write in {folder} ({owner_hint(folder)})")
    if target.exists() and not force:
        raise UsageError(f"{option} {target}: exists; pass --force to overwrite it")
    return target


def owner_hint(folder: Path) -> str:
    """Who must own a folder Loa writes to (the Docker image runs as uid 10001)."""
    return (
        "permission denied; in Docker the folder must belong to uid 10001:"
        f" chown -R {DOCKER_UID}:{DOCKER_UID} {folder}"
    )


def describe_os_error(exc: OSError) -> str:
    """One line for a file-system failure: the file, what went wrong, what to do."""
    where = exc.filename or ""
    what = exc.strerror or str(exc)
    if isinstance(exc, PermissionError) and where:
        return f"{where}: {owner_hint(Path(where).parent)}"
    if isinstance(exc, FileExistsError | NotADirectoryError) and where:
        return f"{where}: is a file, but a folder is needed there"
    return f"{where}: {what}" if where else what


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """Iterate with a progress bar on a terminal (stderr); silent when not a TTY."""
    from tqdm import tqdm  # a maintained progress library; imported only when needed

    # disable=None: tqdm turns itself off when stderr is not a terminal (pipes, CI, cron).
    yield from tqdm(items, total=total, desc=desc, unit="", disable=None, file=sys.stderr)
