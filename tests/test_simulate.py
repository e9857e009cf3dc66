"""`loket simulate`: queueing theory, the engine's own rules and promises, a recorded week,
bad input."""

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
from loket.engine import Engine
from loket.simulate_history import EngineRouter, SetClock
from loket.stats import percentile
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


# the engine's own rules and promises


def mixed_load(rng: random.Random, codes: str) -> sim.Load:
    """Walk-ins, priority tickets, appointments early and late, no-shows: every calling case."""
    services = {}
    for code in codes:
        rates = [0.0] * sim.SLOTS
        appointments = [0.0] * sim.SLOTS
        for slot in range(9 * 4, 10 * 4):
            rates[slot] = rng.choice((0.0, 3.0, 8.0, 20.0))
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


# The demo office (shared counters, appointment tickets R001..) with counter 1 preferring
# B (under load an overdue A often waits longer than a due B), a daily limit of 6 for C, C due later than the others, and B open until 09:40 only:
# refusals for the limit, for closing and for a line that could not be called before it.
ROUTING_OFFICE = (
    default_config_text()
    .replace("daily_limit = 40", "daily_limit = 6\ntarget_minutes = 30")
    .replace("minutes = 10\n", 'minutes = 10\nhours = { tue = "08:00-09:40" }\n', 1)
    .replace('services = ["A", "B"]\n', 'services = ["A", "B"]\nprefer = ["B"]\n')
)
TUESDAY = date(2026, 12, 1)


def run_through(router_of, load, plan, seed):
    """The day's visitors through a router, called and with their promises, and the day."""
    office = load_config(ROUTING_OFFICE)
    desks = [sim.Desk(c.id, frozenset(c.services)) for c in office.counters.values()]
    visitors = sim.visitors_of_day(load, plan, random.Random(seed))
    return visitors, sim.run_day(visitors, plan, desks, router_of(office))


def calls_and_promises(visitors):
    return [(v.service, v.arrives, v.called, v.promised) for v in visitors]


def engine_router(office):
    clock = SetClock(datetime.combine(TUESDAY, time(7), UTC))
    engine = Engine(":memory:", clock=clock, config_text=ROUTING_OFFICE)
    return EngineRouter(engine, clock, TUESDAY)


def model_router(office):
    return sim.ModelRouter(office, TUESDAY)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), counters=st.integers(1, 4))
def test_the_model_calls_and_promises_as_the_engine(seed, counters):
    """The same visitors through the model and through the real Engine: every call alike,
    and every ticket's promise the engine's receipt's `estimated_wait_minutes`."""
    load = mixed_load(random.Random(seed), "ABCD")
    plan = sim.constant_plan(9 * 60, 10 * 60, counters)
    model_visitors, model_day = run_through(model_router, load, plan, seed)
    engine_visitors, engine_day = run_through(engine_router, load, plan, seed)
    assert calls_and_promises(model_visitors) == calls_and_promises(engine_visitors)
    # Before rounding too: the receipt's `called_around` to a few milliseconds.
    expected = [v.expected for v in model_visitors]
    assert expected == pytest.approx([v.expected for v in engine_visitors], abs=1e-4)
    assert model_day.waits == engine_day.waits
    assert model_day.errors == engine_day.errors
    assert model_day.turned_away == engine_day.turned_away


def test_the_cases_of_the_rules_happen_in_the_comparison(monkeypatch):
    """The comparison above meets priority and appointment calls, a counter's preference
    deciding, appointments booked ahead in a promise, late check-ins, promises from 0 to
    long ones, and refusals (daily limit, closed, full for today, appointments only)."""
    seen = dict.fromkeys(
        ("priority", "appointment", "late", "preferred", "booked", "long", "none", "turned_away"),
        0,
    )
    real_preferred, real_estimate = sim.rules.preferred, sim.rules.estimate

    def preferred(heads, prefer, now):
        chosen = real_preferred(heads, prefer, now)
        seen["preferred"] += chosen is not min(heads, key=sim.rules.calling_key, default=None)
        return chosen

    def estimate(office, service, work):
        seen["booked"] += any(work.appointments.values())
        return real_estimate(office, service, work)

    monkeypatch.setattr(sim.rules, "preferred", preferred)
    monkeypatch.setattr(sim.rules, "estimate", estimate)
    for seed in range(10):
        load = mixed_load(random.Random(seed), "ABCD")
        plan = sim.constant_plan(9 * 60, 10 * 60, 2 + seed % 3)
        visitors, day = run_through(model_router, load, plan, seed)
        promised = [v.promised for v in visitors if v.promised is not None]
        seen["priority"] += sum(v.priority and v.called is not None for v in visitors)
        seen["turned_away"] += day.turned_away
        seen["appointment"] += len(day.lateness)
        seen["late"] += sum(late > 15 for _, late in day.lateness)
        seen["long"] += sum(p >= 30 for p in promised)
        seen["none"] += sum(p == 0 for p in promised)
    assert all(seen.values()), seen


def test_every_kind_of_refusal_happens_in_the_comparison():
    """Walk-ins refused for C's limit, for B closed, and for B full before it closes."""
    office = load_config(ROUTING_OFFICE)
    router = sim.ModelRouter(office, TUESDAY)
    router.staff([sim.Desk("1", frozenset("AB"))], 9 * 60)
    for n in range(6):
        assert router.arrive(sim.Visitor("C", 9 * 60 + n, 12.0))
    assert not router.arrive(sim.Visitor("C", 9 * 60 + 7, 12.0))  # the daily limit
    assert not router.arrive(sim.Visitor("B", 9 * 60 + 41, 10.0))  # closed at 09:40
    for n in range(3):
        assert router.arrive(sim.Visitor("B", 9 * 60 + 10 + n, 10.0))
    # Three B ahead of 10 minutes each at the one counter: not before 09:40.
    assert not router.arrive(sim.Visitor("B", 9 * 60 + 14, 10.0))
    assert router.arrive(sim.Visitor("A", 9 * 60 + 14, 8.0))  # A is always open


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
    promises = data["promises"]
    assert promises["longer_than_promised_minutes"] == 10
    assert set(promises["longest_wait_minutes"]) == {"A"}
    assert promises["appointment_lateness_p95_minutes"] == {"mean": None, "ci95": None}
    error = promises["mean_abs_error_minutes"]
    assert error["mean"] > 0 and 0 < error["ci95"] < error["mean"]
    assert data["hours"][2]["utilisation"] > data["hours"][0]["utilisation"]  # 2 counters, not 3


def test_the_same_seed_gives_the_same_figures_and_another_seed_others(office_db, capsys):
    runs = []
    for seed in ("4", "4", "5"):
        main(["--db", office_db, "simulate", "--json", "--arrivals", "A=20/h", "--counters", "3"]
             + ["--hours", "09:00-10:00", "--days", "10", "--seed", seed])  # fmt: skip
        runs.append(json.loads(capsys.readouterr().out)["overall"])
    assert runs[0] == runs[1] != runs[2]


def test_a_call_looks_at_the_heads_of_the_lines_only(monkeypatch):
    """A line of hundreds: each call weighs one ticket per service, not every waiting one."""
    looked = []
    real = sim.rules.preferred

    def counted(heads, prefer, now):
        looked.append(len(heads))
        return real(heads, prefer, now)

    monkeypatch.setattr(sim.rules, "preferred", counted)
    visitors = [sim.Visitor("A", 9 * 60 + n / 100, 5.0, priority=n % 7 == 0) for n in range(300)]
    visitors += [sim.Visitor("B", 9 * 60 + n / 50, 5.0, appointment_at=565.0) for n in range(100)]
    plan = sim.constant_plan(9 * 60, 10 * 60, 1)
    desk = sim.Desk("1", frozenset("AB"))
    day = sim.run_day(visitors, plan, [desk], sim.ModelRouter(OFFICE, date(2026, 12, 1)))
    assert len(day.waits) == len(visitors)
    assert max(looked) == 2


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
        # Autumn: a walk-in at 02:30 summer time, a priority ticket 40 real minutes later
        # at 02:10 winter time. Due 02:45 and 02:55 (summer time): the walk-in first; by the
        # local clock the priority ticket would be due at 02:05 and go first.
        (date(2026, 10, 25), (150, False), (190, True), 200, 150),
    ],
)
def test_a_day_the_clocks_change_keeps_the_order_of_minutes(day, first, second, called_at, called):
    assert OFFICE.timezone.key == "Europe/Brussels"
    assert (
        OFFICE.routing.priority_credit_minutes == 20 and OFFICE.services["A"].target_minutes == 15
    )
    router = sim.ModelRouter(OFFICE, day)
    for minute, priority in (first, second):
        router.arrive(sim.Visitor("A", minute, 5.0, priority=priority))
    assert router.call(sim.Desk("1", frozenset("A")), called_at).arrives == called


def test_the_promise_figures_of_two_days():
    """Errors of the promise, each service's longest wait a day, appointments' lateness."""
    days = [
        sim.Day(
            waits=[(9, 20.0, "A"), (9, 5.0, "B"), (10, 30.0, "A")],
            errors=[(9, 12.0), (9, -3.0), (10, 0.0)],
            lateness=[(9, 4.0), (10, -2.0)],
        ),
        sim.Day(waits=[(9, 10.0, "A"), (11, 50.0, "B")], errors=[(9, 11.0), (11, 40.0)]),
    ]
    figures = sim._promise_figures(days, [9, 10], ["A", "B"])  # 11:00 left out
    assert figures.abs_error.mean == pytest.approx((12 + 3 + 0 + 11) / 4)
    assert figures.over.mean == pytest.approx(2 / 4)
    assert figures.longest["A"].mean == pytest.approx((30 + 10) / 2)
    assert figures.longest["B"].mean == 5.0  # the one day B had a visitor
    assert figures.lateness_p95.mean == pytest.approx(percentile([0.0, 4.0], 95))
    text = " ".join(figures.lines())
    assert "off by 6.5 ±" in text and "50% ±" in text and "A 20 ±" in text


def test_the_output_keeps_to_80_columns_with_the_promises():
    load = sim.given_rates(OFFICE, {"A": 20, "B": 6, "C": 3}, {"A": 6})
    result = sim.simulate(load, OFFICE, None, days=10, span=(9 * 60, 12 * 60))
    lines = sim.render(result, "Stadhuis Demo")
    assert any("longer than promised" in line for line in lines)
    assert max(len(line) for line in lines) <= 80


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
