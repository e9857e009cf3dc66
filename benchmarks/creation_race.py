"""Stress version of test_two_processes_creating_the_same_database_at_once_both_succeed.

Four `loket ticket A` processes start together on a per-user database that does not exist
yet, TRIES times, each time in a fresh folder. Every run must exit 0 and the four tickets
must be A001 to A004. Before storage.Store._use_wal retried `PRAGMA journal_mode = WAL`
(which answers SQLITE_BUSY at once, without the busy timeout, while another process is
creating the file) about 1 try in 40 failed under load.

    .venv/bin/python benchmarks/creation_race.py [TRIES [PROCESSES]]   (default 40 4)

Exits 1 when a try failed. More processes make the race likelier on an idle machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

LOKET = [sys.executable, "-m", "loket"]


def one_try(folder: str, processes: int) -> str | None:
    """None when the processes got A001, A002, ... each once; else what went wrong."""
    env = {k: v for k, v in os.environ.items() if k != "LOKET_DB"}
    env["XDG_DATA_HOME"] = folder
    runs = [
        subprocess.Popen(
            [*LOKET, "ticket", "A"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for _ in range(processes)
    ]
    outputs = [run.communicate() for run in runs]
    failed = [
        err.decode().strip() for run, (_, err) in zip(runs, outputs, strict=True) if run.returncode
    ]
    if failed:
        return "; ".join(failed)
    numbers = sorted(out.decode().split()[1] for out, _ in outputs)
    expected = [f"A{n:03d}" for n in range(1, processes + 1)]
    return None if numbers == expected else f"numbers {numbers}"


def main() -> int:
    tries = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    processes = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    failures = []
    with tempfile.TemporaryDirectory(prefix="loket-race-") as root:
        for n in range(tries):
            problem = one_try(os.path.join(root, str(n)), processes)
            if problem:
                failures.append(problem)
                print(f"try {n + 1}: {problem}")
    print(f"{len(failures)} of {tries} tries failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
