"""Display figures: from a counter's commit to the call painted on the display, and memory.

Both run the display headless in one process and the counter in another, on one database
file, as in an office.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

CALLS = 100  # latency samples
CALL_GAP_SECONDS = (0.08, 0.25)  # a counter never calls twice within a poll
MEMORY_CALLS = 20_000
SIZE = (160, 48)


def counter_process(path: str, calls: int, gap: tuple[float, float], sent) -> None:
    """Call `calls` tickets at counter 1, sending (number, commit time) after each commit."""
    from loket.engine import Engine

    rng = random.Random(4)
    with Engine(path) as engine:
        for _ in range(calls):
            time.sleep(rng.uniform(*gap))
            call = engine.call_next("1")
            sent.put((call.called.number, time.time()))
    sent.put(None)


async def call_latencies(path: str) -> list[float]:
    """Milliseconds from a counter's commit (another process) to the call painted here."""
    from display.app import DisplayApp

    app = DisplayApp(path)
    painted: dict[str, float] = {}
    show_calls = app.show_calls

    def show_and_stamp(fresh: bool = False) -> None:
        show_calls(fresh)
        if fresh and app.calls:
            number = app.calls[0].number
            app.call_after_refresh(lambda: painted.setdefault(number, time.time()))

    app.show_calls = show_and_stamp
    sent = multiprocessing.Queue()
    counter = multiprocessing.Process(
        target=counter_process, args=(path, CALLS, CALL_GAP_SECONDS, sent)
    )
    committed = {}
    async with app.run_test(size=SIZE) as pilot:
        counter.start()
        while (item := await asyncio.to_thread(sent.get)) is not None:
            committed[item[0]] = item[1]
        await pilot.pause(0.5)
    counter.join()
    return [(painted[number] - at) * 1000 for number, at in committed.items()]


# Run in a fresh interpreter, so the figure is the display's alone.
MEMORY_SCRIPT = """
import asyncio, sys
sys.path.insert(0, {here!r})
from display_figures import follow_and_measure
asyncio.run(follow_and_measure(sys.argv[1]))
"""


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def follow_and_measure(path: str) -> None:
    """Display side of the memory figure: its RSS when warm and whenever asked.

    Prints "rss KIB" once ready; then for each event id read from stdin, waits until it
    has shown that event and prints its RSS again. Ends at the end of stdin.
    """
    from display.app import DisplayApp

    app = DisplayApp(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)
        gc.collect()
        print("rss", rss_kib(), flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            while app.last_event < int(line):
                await pilot.pause(0.1)
            await pilot.pause(1.0)
            gc.collect()
            print("rss", rss_kib(), flush=True)


def memory_growth(path: str) -> list[float]:
    """RSS in MiB of a display process: warm, then after each half of MEMORY_CALLS calls."""
    from loket.engine import Engine

    here = os.path.dirname(os.path.abspath(__file__))
    display = subprocess.Popen(
        [sys.executable, "-c", MEMORY_SCRIPT.format(here=here), path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def rss() -> float:
        return int(display.stdout.readline().split()[1]) / 1024

    sizes = [rss()]
    with Engine(path) as engine:
        for _ in range(2):
            for n in range(MEMORY_CALLS // 2):
                engine.issue_ticket("ABC"[n % 3])
                engine.call_next("123"[n % 3])
            display.stdin.write(f"{engine.calls_today(limit=1)[0].id}\n")
            display.stdin.flush()
            sizes.append(rss())
    display.stdin.close()
    display.wait(timeout=60)
    return sizes


def measure() -> dict:
    from loket.config import default_config_text
    from loket.engine import Engine

    text = default_config_text().replace("daily_limit = 40", "")
    with tempfile.TemporaryDirectory(prefix="loket-display-") as folder:
        latency_db = os.path.join(folder, "latency.db")
        memory_db = os.path.join(folder, "memory.db")
        for path in (latency_db, memory_db):
            with Engine(path) as engine:
                engine.init(text)
        with Engine(latency_db) as engine:
            for n in range(CALLS):
                engine.issue_ticket("AB"[n % 2])
        latencies = asyncio.run(call_latencies(latency_db))
        sizes = memory_growth(memory_db)
    return {"latencies": latencies, "rss_mib": sizes}


if __name__ == "__main__":
    figures = measure()
    values = figures["latencies"]
    p95 = statistics.quantiles(values, n=20, method="inclusive")[-1]
    print(f"call to display: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms")
    print("memory (MiB): warm, after half the calls, after all:", figures["rss_mib"])
