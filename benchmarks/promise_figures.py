"""The ticket's promise and the calling rule's fairness, measured on the real engine (issue 11).

Simulated days of four fixed scenarios run through `loket.engine.Engine` on a SQLite file in
a temporary folder, with a simulated clock: every visitor takes a ticket (or checks in) with
`issue_ticket` / `check_in`, and the counters call with `call_next`, exactly as in the office.
For each visitor it records the wait the ticket promised, the wait until first called and,
for an appointment, its slot. The same script gives the figures before and after a change
of the engine; `benchmarks/promise_before.json` holds those of commit c36ab15.

    .venv/bin/python benchmarks/promise_figures.py [--days N] [--seed N] [--json FILE]
        [--scenario NAME] [--before FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import loket
from loket.config import default_config_text
from loket.engine import Engine
from loket.simulate import (
    SLOT,
    SLOTS,
    Desk,
    Load,
    ModelRouter,
    Plan,
    ServiceLoad,
    Visitor,
    constant_plan,
    run_day,
    visitors_of_day,
)
from loket.simulate_history import DEMO_HOURS, EngineRouter, SetClock, demo_load

HERE = Path(__file__).resolve().parent
BEFORE_FILE = HERE / "promise_before.json"
DAYS = 30
QUICK_DAYS = 3
SEED = 11
FIRST_DAY = date(2026, 1, 7)  # a Wednesday: the simulated days are Wednesdays, a week apart
LONGER_THAN_PROMISED = 10  # minutes: "waited more than 10 minutes longer than promised"


# the scenarios


def scaled(load: Load, walk_ins: Callable[[int], float], appointments: float = 1.0) -> Load:
    """`load` with each quarter hour's walk-ins times `walk_ins(minute)`, appointments times
    `appointments`."""
    services = {
        code: replace(
            s,
            walk_ins=tuple(r * walk_ins(n * SLOT) for n, r in enumerate(s.walk_ins)),
            appointments=tuple(r * appointments for r in s.appointments),
        )
        for code, s in load.services.items()
    }
    return Load(services, load.source)


def light_load(day: date) -> Load:
    """The demo office's Wednesday at 0.6x: walk-ins and appointments."""
    return scaled(demo_load(day), lambda minute: 0.6, appointments=0.6)


BUSY = 1.2  # the day's walk-ins and appointments, times the demo's
PEAK = 2.0  # walk-ins from 09:00 to 10:00, times the demo's
PEAK_HOURS = (9 * 60, 10 * 60)
OPEN_HOURS = (DEMO_HOURS[1] - DEMO_HOURS[0]) / 60
OFF_PEAK = (BUSY * OPEN_HOURS - PEAK) / (OPEN_HOURS - 1)  # keeps the day's total at BUSY


def busy_load(day: date) -> Load:
    """The demo office's Wednesday at 1.2x, with double the walk-ins from 09:00 to 10:00."""

    def walk_ins(minute: int) -> float:
        return PEAK if PEAK_HOURS[0] <= minute < PEAK_HOURS[1] else OFF_PEAK

    return scaled(demo_load(day), walk_ins, appointments=BUSY)


SLOTS_FROM, SLOTS_TO, SLOT_EVERY = 9 * 60, 12 * 60, 10  # A's booked slots: 09:00, 09:10 .. 11:50
SLOT_MINUTES = 11.0  # what a booked A visit really takes on average (the config says 8)
CHECK_IN = (-15.0, 10.0)  # holders check in from 15 minutes early to 10 minutes late


def appointment_heavy_load(day: date) -> Load:
    """The demo office's Wednesday without A's random appointments (booked_slots has them)."""
    load = demo_load(day)
    services = dict(load.services)
    services["A"] = replace(services["A"], appointments=(0.0,) * SLOTS)
    return Load(services, load.source)


def booked_slots(day: date, rng: random.Random) -> list[Visitor]:
    """A visitor for every A slot: gamma times of mean SLOT_MINUTES, all of them come."""
    visitors = []
    for slot in range(SLOTS_FROM, SLOTS_TO, SLOT_EVERY):
        arrives = slot + rng.uniform(*CHECK_IN)
        minutes = rng.gammavariate(4, SLOT_MINUTES / 4)
        visitors.append(Visitor("A", arrives, minutes, appointment_at=float(slot)))
    return visitors


ONE_COUNTER_HOURS = (9 * 60, 16 * 60)
ONE_COUNTER = {"A": (3.0, 6.0), "B": (15.0, 2.0)}  # code: (minutes, walk-ins per hour)
# Each service has its own target (issue 11): the Loket of c36ab15 had none, and
# its figures in promise_before.json were taken with this file less the two target lines.
ONE_COUNTER_TOML = """\
office = "Bench: one counter, a quick and a slow service"
timezone = "Europe/Brussels"
languages = ["nl", "en"]

[[services]]
code = "A"
name = { nl = "Afhalen", en = "Pick-up" }
walk_in = true
appointments = false
minutes = 3
target_minutes = 5

[[services]]
code = "B"
name = { nl = "Paspoort", en = "Passport" }
walk_in = true
appointments = false
minutes = 15
target_minutes = 30

[[counters]]
id = "1"
name = "Loket 1"
services = ["A", "B"]
"""


def one_counter_load(day: date) -> Load:
    """Pick-ups of 3 minutes (6 an hour) and passports of 15 (2 an hour), gamma times."""
    rng = random.Random(f"times-{day}")
    services = {}
    for code, (minutes, per_hour) in ONE_COUNTER.items():
        rates = tuple(
            per_hour if ONE_COUNTER_HOURS[0] <= n * SLOT < ONE_COUNTER_HOURS[1] else 0.0
            for n in range(SLOTS)
        )
        times = tuple(rng.gammavariate(4, minutes / 4) for _ in range(500))
        services[code] = ServiceLoad(code, walk_ins=rates, minutes=times, mean_minutes=minutes)
    return Load(services, "one counter")


def demo_config() -> str:
    return default_config_text()


@dataclass(frozen=True)
class Scenario:
    """An office, its visitors on a day, and the counters staffed."""

    name: str
    config_text: Callable[[], str]
    load_of_day: Callable[[date], Load]
    counters: int
    hours: tuple[int, int]
    booked: Callable[[date, random.Random], list[Visitor]] = lambda day, rng: []

    def plan(self) -> Plan:
        return constant_plan(*self.hours, self.counters)


SCENARIOS = (
    Scenario("light", demo_config, light_load, 4, DEMO_HOURS),
    Scenario("busy peak", demo_config, busy_load, 4, DEMO_HOURS),
    Scenario("appointment-heavy", demo_config, appointment_heavy_load, 4, DEMO_HOURS, booked_slots),
    Scenario("mixed quick/slow", lambda: ONE_COUNTER_TOML, one_counter_load, 1, ONE_COUNTER_HOURS),
)


# one day through the engine


@dataclass
class Tally:
    """A scenario's visitors over all its days."""

    days: int = 0
    records: list[Visitor] = field(default_factory=list)
    """The visitors who had a ticket, each with its promise and when it was first called."""
    turned_away: int = 0
    work: float = 0.0
    """Counter-minutes of visits (no-shows' waits included)."""
    staffed: float = 0.0
    """Counter-minutes staffed from opening to closing."""
    overruns: list[float] = field(default_factory=list)


def run_scenario(
    scenario: Scenario, days: int, seed: int, folder: str, model: bool = False
) -> Tally:
    """`days` Wednesdays of `scenario` through one engine on a new database (or, with
    `model`, through `loket simulate`'s model of it: the same visitors, calls and promises)."""
    path = os.path.join(folder, scenario.name.replace(" ", "-").replace("/", "-") + ".db")
    tally = Tally()
    clock = SetClock(datetime.combine(FIRST_DAY, clock_time(5), UTC))
    plan = scenario.plan()
    with Engine(path, clock=clock, config_text=scenario.config_text()) as engine:
        desks = [Desk(c.id, frozenset(c.services)) for c in engine.office.counters.values()]
        for n in range(days):
            day = FIRST_DAY + timedelta(weeks=n)
            rng = random.Random(f"{seed}-{scenario.name}-{day}")
            visitors = visitors_of_day(scenario.load_of_day(day), plan, rng)
            visitors = sorted(visitors + scenario.booked(day, rng), key=lambda v: v.arrives)
            router = ModelRouter(engine.office, day) if model else EngineRouter(engine, clock, day)
            result = run_day(visitors, plan, desks, router)
            served = [v for v in visitors if v.called is not None]
            tally.days += 1
            tally.records += served
            tally.turned_away += result.turned_away
            tally.work += sum(v.minutes for v in served)
            tally.staffed += scenario.counters * (plan.closes - plan.opens)
            tally.overruns.append(result.overrun)
    return tally


# the figures


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def figures(tally: Tally) -> dict:
    """The scenario's figures, rounded, as the table and the JSON give them."""
    records = tally.records
    waits = [(v, v.called - v.arrives) for v in records]
    promised = [(wait - v.promised) for v, wait in waits if v.promised is not None]
    walk_ins = [wait for v, wait in waits if v.appointment_at is None]
    lateness = [max(0.0, v.called - v.appointment_at) for v in records if v.appointment_at]
    per_service = {}
    for code in sorted({v.service for v in records}):
        mine = [wait for v, wait in waits if v.service == code]
        per_service[code] = {"mean": _round(statistics.fmean(mine)), "longest": _round(max(mine))}
    return {
        "days": tally.days,
        "visitors_per_day": _round(len(records) / tally.days),
        "turned_away_per_day": _round(tally.turned_away / tally.days),
        "utilisation": round(tally.work / tally.staffed, 3),
        "overrun_minutes_mean": _round(statistics.fmean(tally.overruns)),
        "unknown_promise_share": round(1 - len(promised) / len(records), 3),
        "promise_abs_error_mean": _round(_mean([abs(e) for e in promised])),
        "promise_signed_error_mean": _round(_mean(promised)),
        "longer_than_promised_share": _share(
            [e > LONGER_THAN_PROMISED for e in promised], len(promised)
        ),
        "wait_per_service": per_service,
        "appointment_lateness_p95": _round(p95(lateness)),
        "appointments": len(lateness),
        "walk_in_longest_wait": _round(max(walk_ins) if walk_ins else None),
    }


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _share(flags: list[bool], count: int) -> float | None:
    return round(sum(flags) / count, 3) if count else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def measure(
    days: int = DAYS, seed: int = SEED, names: list[str] | None = None, model: bool = False
) -> dict:
    """Every scenario's figures (or those named), with where and how they were measured."""
    chosen = [s for s in SCENARIOS if names is None or s.name in names]
    results, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="loket-promise-") as folder:
        for scenario in chosen:
            began = time.perf_counter()
            results[scenario.name] = figures(run_scenario(scenario, days, seed, folder, model))
            seconds[scenario.name] = round(time.perf_counter() - began, 1)
    return {
        "commit": engine_commit(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "loket": str(Path(loket.__file__).parent),
        "seed": seed,
        "seeds": "random.Random(f'{seed}-{scenario}-{day}') per scenario and day; "
        "service times from demo_load's own random.Random(f'times-{day}')",
        "days": days,
        "driven": "loket simulate's model (ModelRouter)" if model else "the engine",
        "first_day": FIRST_DAY.isoformat(),
        "seconds": seconds,
        "scenarios": results,
    }


def engine_commit() -> str:
    """The commit of the loket package measured, '+changes' when its files differ from it."""
    where = Path(loket.__file__).parent
    try:
        commit = _git(where, "rev-parse", "HEAD")
        changed = _git(where, "status", "--porcelain", "--", ".")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if changed else "")


def _git(where: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def machine() -> str:
    return (
        f"{len(os.sched_getaffinity(0))} CPUs ({platform.machine()}), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


# the table


COLUMNS = (
    "Visitors/day",
    "Busy",
    "Unknown",
    "Mean abs. error",
    "Mean signed error",
    ">10 min over",
    "Wait per service: mean / longest",
    "Appt. lateness p95",
    "Walk-in longest",
)


def row(name: str, f: dict) -> str:
    """One scenario's figures as a Markdown table row."""
    waits = ", ".join(
        f"{code} {w['mean']:.0f} / {w['longest']:.0f}" for code, w in f["wait_per_service"].items()
    )
    cells = (
        f"{f['visitors_per_day']:.0f}"
        + (f" ({f['turned_away_per_day']:g} turned away)" if f["turned_away_per_day"] else ""),
        _percent(f["utilisation"]),
        _percent(f["unknown_promise_share"]),
        _minutes(f["promise_abs_error_mean"]),
        _minutes(f["promise_signed_error_mean"], signed=True),
        _percent(f["longer_than_promised_share"]),
        waits,
        _minutes(f["appointment_lateness_p95"]) if f["appointments"] else "-",
        _minutes(f["walk_in_longest_wait"]),
    )
    return f"| {name} | " + " | ".join(cells) + " |"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def _minutes(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def table(runs: list[tuple[str, dict]]) -> list[str]:
    """Scenario rows by figures; each run (label, measured) gives a row per scenario."""
    lines = [
        "| Scenario | " + " | ".join(COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    names = list(dict.fromkeys(name for _, run in runs for name in run["scenarios"]))
    for name in names:
        for label, run in runs:
            if name in run["scenarios"]:
                lines.append(row(f"{name}{label}", run["scenarios"][name]))
    return lines


NOTE = (
    "Minutes. Visitors/day: tickets issued or checked in (refused ones: turned away). "
    "Error: the wait until first called minus the wait the ticket promised (positive: "
    "longer than promised), over tickets with a promise; Unknown: tickets that promised "
    "none. Busy: visit minutes over staffed counter minutes. Appointment lateness: minutes "
    "after the slot that holders were first called (0 when before). Scenarios: "
    "benchmarks/README.md."
)


def section(now: dict, before: dict | None) -> str:
    """The Markdown part of `make bench`: the before figures beside this run's."""
    runs = [(f" (now, {_commit(now)})", now)]
    if before is not None:
        runs.insert(0, (f" (before, {_commit(before)})", before))
    lines = [
        "## Promise and fairness (issue 11)",
        "",
        f"The real engine, {now['days']} simulated day{'s' * (now['days'] != 1)} per scenario "
        f"(seed {now['seed']})"
        + (f"; before: {before['days']} days, measured {before['date'][:10]}." if before else "."),
        "",
        *table(runs),
        "",
        NOTE,
        "",
    ]
    return "\n".join(lines)


def _commit(run: dict) -> str:
    commit = run["commit"]
    return commit[:7] + ("+changes" if commit.endswith("+changes") else "")


def load_before(path: Path = BEFORE_FILE) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=DAYS, help=f"days per scenario ({DAYS})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"({SEED})")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="only this scenario (may be given again)",
    )
    parser.add_argument("--before", metavar="FILE", help="show a saved run's figures beside")
    parser.add_argument(
        "--model",
        action="store_true",
        help="run loket simulate's model instead of the engine (the same figures, faster)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 1000:
        parser.error("--days: from 1 to 1000")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        parser.error(f"--json: the folder of {args.json} does not exist")
    if args.before and load_before(Path(args.before)) is None:
        parser.error(f"--before: {args.before} is not a JSON file of this script")
    measured = measure(args.days, args.seed, args.scenario, args.model)
    print(f"loket from {measured['loket']} (commit {measured['commit']})", file=sys.stderr)
    print(section(measured, load_before(Path(args.before)) if args.before else None))
    if args.json:
        Path(args.json).write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
