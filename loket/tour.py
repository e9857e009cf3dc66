"""A short scripted tour of the `loket` command on a fresh demo database (`make tour`).

The database lives in a temporary folder that is removed when the tour ends, also when it
is interrupted (Ctrl+C) or hung up (its terminal closed, its tmux session killed).
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import sys
import tempfile
from contextlib import contextmanager, redirect_stdout
from io import StringIO
from pathlib import Path

from loket.cli import main

INTERRUPTED = 130  # the exit code of `loket` on Ctrl+C


def run(db: str, line: str, show: bool = True) -> str:
    """Run one `loket` command line against `db`, echo it like a shell would, return its output."""
    captured = StringIO()
    with redirect_stdout(captured):
        code = main(["--db", db, *shlex.split(line)])
    if code == INTERRUPTED:  # the command caught the Ctrl+C: the tour stops too
        raise KeyboardInterrupt
    if show:
        print(f"\n$ loket {line}\n{captured.getvalue()}", end="")
    return captured.getvalue()


def tour() -> int:
    """Run the tour on a fresh office in a temporary folder, which is removed afterwards."""
    folder = tempfile.mkdtemp(prefix="loket-tour-")
    try:
        with _hangup_as_interrupt():
            walk(str(Path(folder) / "loket.db"))
    except KeyboardInterrupt:
        return INTERRUPTED
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


@contextmanager
def _hangup_as_interrupt():
    """SIGHUP and SIGTERM end the tour like Ctrl+C, so that its folder is still removed."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {
        number: signal.signal(number, interrupt) for number in (signal.SIGHUP, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def walk(db: str) -> None:
    """A visitor takes a ticket, an appointment holder checks in, two counters call them."""
    print(f"Loket tour on a fresh demo database, removed at the end: {db}")
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
    print(f"\nTry it yourself, on an office of your own: {loket_command()} --help")


def loket_command() -> str:
    """`loket` when the shell finds it, else its path in this Python's environment (.venv/bin)."""
    here = Path(sys.executable).parent / "loket"
    return "loket" if shutil.which("loket") == str(here) else str(here)


if __name__ == "__main__":
    sys.exit(tour())
