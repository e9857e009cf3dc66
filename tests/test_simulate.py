"""`loket simulate`: queueing theory, the engine's own routing, a recorded week, bad input."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loket import simulate as sim
from loket.cli import main
from loket.config import default_config_text, load_config
from loket.engine import Engine, routing_key
from loket.simulate_history import EngineRouter, SetClock
from tests.conftest import Clock

OFFICE = load_config(default_config_text())
BRUSSELS = ZoneInfo("Europe/Brussels")


def erlang_c(per_hour: float, minutes: float, counters: int) -> tuple[float, float]:
    """P(wait) and mean wait in minutes of an M/M/c line."""
    load = per_hour * minutes / 60
    top = load**counters / math.factorial(counters) * counters / (counters - load)
    waits = top / (sum(load**k / math.factorial(k) for k in range(counters)) + top)
    return waits, waits / (counters * 60 / minutes - per_hour) * 60


# queueing theory


@pytest.mark.parametrize(
    ("per_hour", "minutes", "counters"), [(20, 6, 3), (12, 5, 2), (30, 3, 2), (40, 6, 6)]
)
def test_one_line_matches_erlang_c_within_the_confidence_interval(per_hour, minutes, counters):
    """Poisson arrivals, exponential service, c counters all day (the first hours left out)."""
    load = sim.given_rates(OFFICE, {"A": per_hour}, {"A": minutes})
    plan = sim.constant_plan(0, 24 * 60, counters)
    # Within 0 minutes: called at once, so P(wait) is the rest.
    result = sim.simulate(load, OFFICE, plan, days=40, seed=1, target_minutes=0, warm_up_hours=4)
    p_wait, mean_wait = erlang_c(per_hour, minutes, counters)
    simulated = result.overall
    assert abs(simulated.mean_wait.mean - mean_wait) <= simulated.mean_wait.half_width
    assert abs(1 - simulated.within_target.mean - p_wait) <= simulated.within_target.half_width
    # Intervals so wide that anything fits would prove nothing.
    assert simulated.mean_wait.half_width < 0.2 * mean_wait
    assert simulated.within_target.half_width < 0.1 * p_wait


def test_the_example_of_the_issue_is_erlang_c():
    assert erlang_c(20, 6, 3) == (pytest.approx(0.444, abs=0.001), pytest.approx(2.67, abs=0.01))


# the engine's own rule


def mixed_load(rng: random.Random, codes: str) -> sim.Load:
    """Walk-ins, priority tickets, appointments early and late, no-shows: every routing case."""
    services = {}
    for code in codes:
        rates = [0.0] * sim.SLOTS
        appointments = [0.0] * sim.SLOTS
        for slot in range(9 * 4, 10 * 4):
            rates[slot] = rng.choice((0.0, 3.0, 8.0))
            appointments[slot] = rng.choice((0.0, 2.0, 4.0))
        services[code] = sim.ServiceLoad(
            code,
            walk_ins=tuple(rates),
            appointments=tuple(appointments),
            mean_minutes=rng.choice((3.0, 6.0, 12.0)),
            early_minutes=tuple(rng.uniform(-15, 30) for _ in range(5)),
            priority=rng.choice((0.0, 0.3)),
            no_show=rng.choice((0.0, 0.2)),
        )
    return sim.Load(services, "a test")


ROUTING_OFFICE = default_config_text().replace("max_wait_minutes = 45", "max_wait_minutes = 12")
ROUTING_OFFICE = ROUTING_OFFICE.replace("daily_limit = 40", "daily_limit = 6")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), counters=st.integers(1, 4))
def test_the_model_calls_the_same_tickets_as_the_engine(seed, counters):
    """The same visitors through the model and through the real Engine: every call alike.

    A short max_wait and a daily limit of 6 for C make escalation and refusals happen.
    """
    rng = random.Random(seed)
    load = mixed_load(rng, "ABCD")
    office = load_config(ROUTING_OFFICE)
    plan = sim.constant_plan(9 * 60, 10 * 60, counters)
    desks = [sim.Desk(c.id, frozenset(c.services)) for c in office.counters.values()]
    day = date(2026, 12, 1)
    runs = []
    for engine_router in (False, True):
        visitors = sim.visitors_of_day(load, plan, random.Random(seed))
        if engine_router:
            clock = SetClock(datetime.combine(day, time(7), UTC))
            engine = Engine(":memory:", clock=clock, config_text=ROUTING_OFFICE)
            router = EngineRouter(engine, clock, day)
        else:
            router = sim.ModelRouter(office, day)
        outcome = sim.run_day(visitors, plan, desks, router)
        runs.append(([(v.service, v.arrives, v.called) for v in visitors], outcome))
    (model_calls, model_day), (engine_calls, engine_day) = runs
    assert model_calls == engine_calls
    assert model_day.waits == engine_day.waits
    assert model_day.turned_away == engine_day.turned_away


def test_the_routing_cases_happen_in_the_comparison():
    """The comparison above meets escalated, priority and appointment calls, and refusals
    (daily limit, walk-ins at an appointments-only service)."""
    office = load_config(ROUTING_OFFICE)
    seen = {"escalated": 0, "priority": 0, "appointment": 0, "turned_away": 0}
    desks = [sim.Desk(c.id, frozenset(c.services)) for c in office.counters.values()]
    for seed in range(10):
        load = mixed_load(random.Random(seed), "ABCD")
        plan = sim.constant_plan(9 * 60, 10 * 60, 2)
        visitors = sim.visitors_of_day(load, plan, random.Random(seed))
        day = sim.run_day(visitors, plan, desks, sim.ModelRouter(office, date(2026, 12, 1)))
        called = [v for v in visitors if v.called is not None]
        seen["escalated"] += sum(v.called - v.arrives > 12 for v in called)
        seen["priority"] += sum(v.priority for v in called)
        seen["appointment"] += sum(v.appointment_at is not None for v in called)
        seen["turned_away"] += day.turned_away
    assert all(seen.values()), seen


# a recorded week


COUNTERS = {"1": ("A", "B"), "2": ("A", "C"), "3": ("B", "C", "D"), "4": ("D", "A")}
MEAN_MINUTES = {"A": 8, "B": 10, "C": 12}


def a_recorded_week(engine: Engine, clock: Clock, first: date, rng: random.Random) -> None:
    """Five weekdays, minute by minute: visitors, four clerks calling, gamma service times.

    Written apart from the simulation (it steps minutes, it draws differently), so that
    the replay below is compared with a history the simulation did not make itself.
    """
    for n in range(5):
        opens = datetime.combine(first + timedelta(days=n), time(9), BRUSSELS)
        serving: dict[str, tuple[int, bool]] = {}
        for minute in range(4 * 60 + 90):
            clock.now = (opens + timedelta(minutes=minute)).astimezone(UTC)
            busy = 1.5 if 60 <= minute < 150 else 1.0
            if minute < 4 * 60 and rng.random() < 0.3 * busy:
                engine.issue_ticket(rng.choices("ABC", weights=(5, 3, 2))[0])
            for counter in COUNTERS:
                if counter in serving and minute >= serving[counter][0]:
                    no_show = serving.pop(counter)[1]
                    (engine.no_show if no_show else engine.finish)(counter)
                if counter not in serving:
                    called = engine.call_next(counter).called
                    if called is not None:
                        no_show = rng.random() < 0.05
                        length = (
                            2 if no_show else rng.gammavariate(4, MEAN_MINUTES[called.service] / 4)
                        )
                        serving[counter] = (minute + max(round(length), 1), no_show)


def test_replaying_a_recorded_week_gives_its_waits(db_path):
    """Learned from the week, the simulation's waits are those the week recorded, within
    a minute and a half (or a quarter) for the day and for its busiest hour."""
    monday = date(2026, 11, 2)
    clock = Clock(datetime.combine(monday, time(8), UTC))
    with Engine(db_path, clock=clock) as engine:
        a_recorded_week(engine, clock, monday, random.Random(7))
        tickets = engine.tickets_between(monday, monday + timedelta(days=4))
    from loket import stats

    recorded = stats.compute(tickets, OFFICE)
    load = sim.learn(tickets, OFFICE, "the recorded week")
    assert load.busy_hours() == (9 * 60, 13 * 60)
    result = sim.simulate(load, OFFICE, None, days=200, seed=3)
    simulated = {h.hour: h.mean_wait.mean for h in result.hours}
    pairs = [(result.overall.mean_wait.mean, recorded.overall.mean_wait_minutes)]
    pairs.append((simulated[10], recorded.per_hour[10].mean_wait_minutes))
    for simulated_wait, recorded_wait in pairs:
        assert recorded_wait > 3  # a week with real lines, or the comparison proves little
        assert abs(simulated_wait - recorded_wait) <= max(1.5, 0.25 * recorded_wait)
    assert result.overall.arrivals.mean == pytest.approx(len(tickets) / 5, rel=0.1)


def test_learning_takes_the_shape_of_the_history(db_path):
    """Service times as recorded, appointment punctuality, no-shows per service."""
    clock = Clock(datetime.combine(date(2026, 11, 2), time(8), UTC))
    with Engine(db_path, clock=clock) as engine:
        for day in range(3):
            clock.now = datetime.combine(date(2026, 11, 2 + day), time(9), BRUSSELS)
            booked = engine.add_appointment("D", clock.now + timedelta(minutes=10))
            engine.check_in(booked.reference)  # ten minutes early
            for n in range(12):
                engine.issue_ticket("A")
                engine.call_next("1")
                clock.advance(minutes=4 if n % 2 else 6)
                (engine.no_show if n == 11 else engine.finish)("1")
        tickets = engine.tickets_between(date(2026, 11, 2), date(2026, 11, 4))
    load = sim.learn(tickets, OFFICE, "three days")
    a, d = load.services["A"], load.services["D"]
    assert sorted(set(a.minutes)) == [4.0, 6.0]
    assert a.no_show == pytest.approx(1 / 12)
    assert sum(a.walk_ins) * sim.SLOT / 60 == pytest.approx(12)
    assert d.early_minutes == (10.0, 10.0, 10.0)
    assert sum(d.appointments) * sim.SLOT / 60 == pytest.approx(1)


# the plan that reaches a goal


def test_recommend_gives_the_fewest_counters_that_reach_the_goal():
    load = sim.given_rates(OFFICE, {"A": 30, "B": 10}, {"A": 6, "B": 9})
    goal = sim.Goal(0.9, 5)
    result = sim.recommend(load, OFFICE, goal, (9 * 60, 12 * 60), days=30, seed=2)
    plan = sim.parse_plan(result.plan.text())  # pasted back with --plan
    again = sim.simulate(load, OFFICE, plan, days=30, seed=2, target_minutes=5)
    assert all(h.within_target.mean >= 0.9 for h in again.hours)
    for n, interval in enumerate(plan.intervals):
        fewer = list(plan.intervals)
        fewer[n] = sim.Interval(interval.start, interval.end, interval.counters - 1)
        if interval.counters > 1:
            tried = sim.simulate(load, OFFICE, sim.Plan(tuple(fewer)), 30, 2, 5)
            assert any(h.within_target.mean < 0.9 for h in tried.hours), plan.text()


# bad input: one sentence, exit 2 (usage) or 1 (refused)


@pytest.fixture
def office_db(tmp_path):
    path = tmp_path / "loket.db"
    assert main(["--db", str(path), "init"]) == 0
    return str(path)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--plan", "12:00-09:00=3"], "ends before it starts"),
        (["--plan", "09:00-12:00=2, 11:00-13:00=3"], "overlap"),
        (["--plan", "09:00-12:00=0"], "zero counters"),
        (["--plan", "09:00-12:00=2, 12:00-13:00=0"], "ends with zero counters"),
        (["--plan", "9h-12h=3"], "not a time like 08:30"),
        (["--arrivals", "A=lots"], "not like A=20/h"),
        (["--arrivals", "A=-3/h"], "above 0"),
        (["--goal", "mostly fine"], "not a goal like"),
        (["--weekday", "tuesdag"], "not a weekday"),
        (["--hours", "17:00-09:00"], "ends before it starts"),
        (["--counters", "2", "--plan", "09:00-12:00=3"], "not allowed with"),
        (["--arrivals", "A=20/h", "--hours", "09:00-09:15", "--days", "2001"], "from 0 to 2000"),
    ],
)
def test_impossible_options_are_usage_errors(office_db, capsys, arguments, says):
    with pytest.raises(SystemExit) as stopped:
        main(["--db", office_db, "simulate", *arguments])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert says in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("arguments", "says", "code"),
    [
        (["--arrivals", "A=20/h", "--counters", "0"], "zero counters", 2),
        (["--arrivals", "A=20/h", "--days", "0"], "at least 1 day", 2),
        (["--arrivals", "A=20/h", "--arrivals", "a=5/h"], "--arrivals A=... is given twice", 2),
        (["--arrivals", "A=20/h", "--minutes", "A=6", "--minutes", "A=8"], "given twice", 2),
        (["--minutes", "A=6"], "goes with --arrivals", 2),
        (["--arrivals", "A=20/h", "--counters", "2", "--recommend"], "finds the counters", 2),
        (["--from", "2026-11-10", "--to", "2026-11-01"], "before --from", 2),
        (["--arrivals", "A=20/h", "--minutes", "A=6", "--counters", "2"], "never empty", 1),
        (["--arrivals", "Z=5/h"], "minutes a visitor of Z takes", 1),
        (["--arrivals", "D=5/h"], "takes appointments only", 1),
        (
            ["--arrivals", "A=5/h", "--plan", "09:00-12:00=1", "--service-times", "empirical"],
            "too little",
            1,
        ),
        ([], "too little to learn from", 1),
    ],
)
def test_plans_that_cannot_work_are_refused_in_one_sentence(
    office_db, capsys, arguments, says, code
):
    assert main(["--db", office_db, "simulate", *arguments]) == code
    error = capsys.readouterr().err
    assert says in error and error.count("\n") == 1 and "Traceback" not in error


def test_simulate_as_a_command_prints_one_json_object(office_db):
    """A real process: the figures per hour and for the day, each with its interval."""
    done = subprocess.run(
        [sys.executable, "-m", "loket", "--db", office_db, "simulate", "--json"]
        + ["--arrivals", "A=20/h", "--minutes", "A=6", "--plan", "09:00-11:00=3, 11:00-12:30=2"]
        + ["--days", "20", "--seed", "5"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    assert [h["hour"] for h in data["hours"]] == ["09:00", "10:00", "11:00", "12:00"]
    assert data["plan"] == "09:00-11:00=3, 11:00-12:30=2"
    assert data["counters"] == "counters serving every service"
    keys = {"arrivals", "mean_wait_minutes", "p90_wait_minutes", "within_target", "utilisation"}
    assert keys <= set(data["hours"][0]) and keys <= set(data["hours"][0]["ci95"])
    assert {"mean_wait_minutes", "p90_wait_minutes", "within_target", "visitors"} <= set(
        data["overall"]
    )
    assert data["hours"][3]["arrivals"] == pytest.approx(10, abs=3)  # half an hour of 20/h
    assert data["hours"][2]["utilisation"] > data["hours"][0]["utilisation"]  # 2 counters, not 3


def test_the_same_seed_gives_the_same_figures_and_another_seed_others(office_db, capsys):
    runs = []
    for seed in ("4", "4", "5"):
        main(["--db", office_db, "simulate", "--json", "--arrivals", "A=20/h", "--counters", "3"]
             + ["--hours", "09:00-10:00", "--days", "10", "--seed", seed])  # fmt: skip
        runs.append(json.loads(capsys.readouterr().out)["overall"])
    assert runs[0] == runs[1] != runs[2]


def test_a_call_looks_at_the_heads_of_the_lines_only(monkeypatch):
    """A line of hundreds: each call weighs a few tickets per service, not every waiting one."""
    looked = []

    def counted(ticket, now, max_wait):
        looked.append(ticket.id)
        return routing_key(ticket, now, max_wait)

    monkeypatch.setattr(sim, "routing_key", counted)
    visitors = [sim.Visitor("A", 9 * 60 + n / 100, 5.0, priority=n % 7 == 0) for n in range(300)]
    visitors += [sim.Visitor("B", 9 * 60 + n / 50, 5.0, appointment_at=600.0) for n in range(100)]
    plan = sim.constant_plan(9 * 60, 10 * 60, 1)
    desk = sim.Desk("1", frozenset("AB"))
    day = sim.run_day(visitors, plan, [desk], sim.ModelRouter(OFFICE, date(2026, 12, 1)))
    assert len(day.waits) == len(visitors)
    assert len(looked) <= 3 * 2 * len(visitors)  # three orders of two services


def test_a_run_holding_too_many_visitors_is_refused_before_it_starts(monkeypatch):
    monkeypatch.setattr(sim, "MOST_VISITORS", 1000)
    load = sim.given_rates(OFFICE, {"A": 20}, {"A": 6})
    plan = sim.constant_plan(9 * 60, 17 * 60, 3)
    assert sim.simulate(load, OFFICE, plan, days=6).days == 6  # 960 visitors
    with pytest.raises(sim.Refused, match=r"10 days of about 160 visitors .* at most 6 days"):
        sim.simulate(load, OFFICE, plan, days=10)


def test_recommend_starts_near_the_answer_and_keeps_a_budget(monkeypatch):
    """A strict goal far above the bare work: Erlang C's start saves a try per counter."""
    tries = []
    real = sim.simulate

    def counted(*args, **kwargs):
        tries.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(sim, "simulate", counted)
    load = sim.given_rates(OFFICE, {"A": 30}, {"A": 20})  # 10 counters' work
    goal = sim.Goal(0.95, 1)
    result = sim.recommend(load, OFFICE, goal, (9 * 60, 12 * 60), days=10, seed=2)
    assert result.plan.most() >= 15
    assert len(tries) <= 9, [plan.text() for plan in tries]
    monkeypatch.setattr(sim, "RECOMMEND_VISITORS", 2 * 90 * 10)  # two tries of 10 days
    with pytest.raises(sim.Refused, match="after 2 plans tried, .* give fewer --days"):
        sim.recommend(load, OFFICE, goal, (9 * 60, 12 * 60), days=10, seed=2)


def test_walk_ins_past_the_daily_limit_bring_no_work_and_are_no_arrivals():
    """C turns walk-ins away after 40 a day: 160 come, 40 are served by two counters."""
    load = sim.given_rates(OFFICE, {"C": 20}, {"C": 12})
    result = sim.simulate(load, OFFICE, sim.constant_plan(9 * 60, 17 * 60, 2), days=10)
    assert result.overall.arrivals.mean == 40
    assert result.turned_away.mean == pytest.approx(120, abs=15)


@pytest.mark.parametrize(
    ("day", "first", "second", "called_at", "called"),
    [
        # Spring: 02:59 and 03:00 of the simulated clock, the first in line first.
        (date(2026, 3, 29), (179, False), (180, False), 200, 179),
        # Autumn: 35 real minutes after 02:30 is no escalation, so the priority ticket first.
        (date(2026, 10, 25), (150, False), (170, True), 185, 170),
    ],
)
def test_a_day_the_clocks_change_keeps_the_order_of_minutes(day, first, second, called_at, called):
    assert OFFICE.timezone.key == "Europe/Brussels" and OFFICE.max_wait_minutes == 45
    router = sim.ModelRouter(OFFICE, day)
    for minute, priority in (first, second):
        router.arrive(sim.Visitor("A", minute, 5.0, priority=priority))
    assert router.call(sim.Desk("1", frozenset("A")), called_at).arrives == called


def test_the_header_says_whose_counters_serve_what():
    load = sim.given_rates(OFFICE, {"A": 20}, {"A": 6})
    planned = sim.simulate(load, OFFICE, sim.constant_plan(9 * 60, 10 * 60, 3), days=2)
    own = sim.simulate(load, OFFICE, None, days=2, span=(9 * 60, 10 * 60))
    assert sim.render(planned, "Office")[1] == "Counters serving every service."
    assert "office's counters as configured" in sim.render(own, "Office")[1]
    assert own.to_dict()["counters"].startswith("the office's counters")


def test_the_demo_history_ends_on_the_day_given(tmp_path, capsys):
    """`--until` makes the README's history, and so its figures, the same on any day."""
    from loket import simulate_history

    path = tmp_path / "history.db"
    assert simulate_history.main(["--db", str(path), "--weeks", "1", "--until", "2026-11-30"]) == 0
    assert capsys.readouterr().out.endswith("5 weekdays from 2026-11-24 to 2026-11-30\n")
    with Engine(path, create=False) as engine:
        days = {
            t.service_day for t in engine.tickets_between(date(2026, 11, 1), date(2026, 12, 31))
        }
    assert min(days) == "2026-11-24" and max(days) == "2026-11-30"
