"""A short scripted tour of the `loket` command on a fresh demo database (`make tour`)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from loket.cli import main


def run(db: str, line: str, show: bool = True) -> str:
    """Run one `loket` command line against `db`, echo it like a shell would, return its output."""
    captured = StringIO()
    with redirect_stdout(captured):
        main(["--db", db, *shlex.split(line)])
    if show:
        print(f"\n$ loket {line}\n{captured.getvalue()}", end="")
    return captured.getvalue()


def tour() -> None:
    """A visitor takes a ticket, an appointment holder checks in, two counters call them."""
    db = str(Path(tempfile.mkdtemp(prefix="loket-tour-")) / "loket.db")
    print(f"Loket tour on a fresh demo database: {db}")
    run(db, "init")
    run(db, "services")
    run(db, "ticket A")
    run(db, "ticket A --priority")
    run(db, "ticket B")
    booking = json.loads(run(db, "appointments add C --at now --json", show=False) or "{}")
    if booking:
        print(f"\n(an appointment for service C, reference {booking['reference']})")
        run(db, f"checkin {booking['reference'].lower()}")
    run(db, "call 1")
    run(db, "call 2")
    run(db, "recall 1")
    run(db, "transfer 1 B")
    run(db, "call 3")
    run(db, "status")
    print(f"\nTry it yourself: {loket_command()} --db {db} --help")


def loket_command() -> str:
    """`loket` when the shell finds it, else its path in this Python's environment (.venv/bin)."""
    here = Path(sys.executable).parent / "loket"
    return "loket" if shutil.which("loket") == str(here) else str(here)


if __name__ == "__main__":
    sys.exit(tour())
