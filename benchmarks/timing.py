"""Timing whole commands, as a person starting them would wait for them, and processes
that race each other; the table each part's figures are printed in."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time


def process_times(command: list[str], runs: int, pycache: str | None) -> list[float]:
    """Milliseconds per run; with `pycache`, bytecode is cached there as after a normal install."""
    env = dict(os.environ)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        # Some shells (this sandbox's, for one) set PYTHONDONTWRITEBYTECODE: every run would
        # then compile loket from source, which no installed copy does.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    subprocess.run(command, check=True, capture_output=True, env=env)  # warm caches
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append((time.perf_counter() - began) * 1000)
    return times


def race(worker, target: str, processes: int, amount) -> list[tuple]:
    """Start `processes` workers together on `target`; their reports, each beginning with
    (began, ended). Each worker gets (target, amount, seed, start barrier, results queue)."""
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(processes), ctx.Queue()
    workers = [
        ctx.Process(target=worker, args=(target, amount, seed, start, results))
        for seed in range(processes)
    ]
    for process in workers:
        process.start()
    reports = [results.get(timeout=300) for _ in workers]
    for process in workers:
        process.join()
    return reports


def span(reports: list[tuple]) -> float:
    """Seconds from the first worker's start to the last one's end."""
    return max(r[1] for r in reports) - min(r[0] for r in reports)


def figure_table(rows) -> list[str]:
    """The Markdown table of (figure, measured, goal, result) rows; no goal is a reference."""
    return [
        "| Figure | Measured | Goal | Result |",
        "|---|---|---|---|",
        *(
            f"| {name} | {value} | {goal or '(reference)'} | {result} |"
            for name, value, goal, result in rows
        ),
    ]
