"""`loket simulate`'s speed: 100 simulated days of an office with 150 visitors a day."""

from __future__ import annotations

import statistics
import time

from loket import simulate as sim
from loket.config import default_config_text, load_config

DAYS = 100
RUNS = 3
# About 150 visitors in a day of 08:30-16:30 over three services, four counters 75% busy.
RATES = {"A": 9.0, "B": 6.0, "C": 4.0}
MINUTES = {"A": 8.0, "B": 10.0, "C": 12.0}
PLAN = "08:30-16:30=4"


def measure(days: int = DAYS, runs: int = RUNS) -> dict:
    """Seconds of each run, and the visitors a simulated day had."""
    office = load_config(default_config_text())
    load = sim.given_rates(office, RATES, MINUTES)
    plan = sim.parse_plan(PLAN)
    seconds, result = [], None
    for seed in range(1, runs + 1):
        began = time.perf_counter()
        result = sim.simulate(load, office, plan, days=days, seed=seed)
        seconds.append(time.perf_counter() - began)
    return {"seconds": seconds, "visitors": result.overall.arrivals.mean, "days": days}


def rows(figures: dict) -> list[tuple[str, str, str, str]]:
    median = statistics.median(figures["seconds"])
    return [
        (
            f"`loket simulate`: {figures['days']} days of a {figures['visitors']:.0f}-visitor "
            f"office ({PLAN}): median of {len(figures['seconds'])} runs",
            f"{median:.2f} s",
            "< 10 s",
            "PASS" if median < 10 else "MISS",
        )
    ]


if __name__ == "__main__":
    for row in rows(measure()):
        print(" | ".join(row))
