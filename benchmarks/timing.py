"""Timing whole commands, as a person starting them would wait for them."""

from __future__ import annotations

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
