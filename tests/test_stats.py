import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from rich.console import Console

from loket import stats
from loket.engine import Engine

# A Tuesday in December: Europe/Brussels is UTC+1, so 08:00 UTC is 09:00 local.
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)

pytestmark = pytest.mark.backends


@pytest.fixture
def engine(new_database):
    now = [START]
    engine = Engine(new_database(), clock=lambda: now[0])

    def at(minutes: float) -> None:
        now[0] = START + timedelta(minutes=minutes)

    engine.at = at
    yield engine
    engine.close()


def report(engine, first=DAY, last=DAY):
    return stats.compute(engine.tickets_between(first, last), engine.office)


def three_visitors(engine):
    """Arrive 09:00, 09:05, 09:10 local; called after 4, 10 and 20 minutes; 5 minutes each."""
    engine.at(0)
    engine.issue_ticket("A")
    engine.at(4)
    engine.call_next("1")
    engine.at(5)
    engine.issue_ticket("A")
    engine.at(9)
    engine.finish("1")
    engine.at(10)
    engine.issue_ticket("A")
    engine.at(15)
    engine.call_next("1")
    engine.at(20)
    engine.finish("1")
    engine.at(30)
    engine.call_next("1")
    engine.at(35)
    engine.call_next("1")  # finishes the third visitor; nobody left to call


def test_waits_and_service_times_of_three_visitors(engine):
    three_visitors(engine)
    overall = report(engine).overall
    assert (overall.issued, overall.served, overall.no_shows) == (3, 3, 0)
    assert overall.median_wait_minutes == 10
    assert overall.p90_wait_minutes == 20
    assert overall.mean_wait_minutes == pytest.approx(34 / 3)
    assert overall.share_within_target == pytest.approx(2 / 3)
    assert overall.mean_service_minutes == 5


def test_nearest_rank_percentile():
    assert stats.percentile([], 90) is None
    assert stats.percentile([7.0], 90) == 7.0
    assert stats.percentile(list(range(1, 11)), 90) == 9
    assert stats.percentile(list(range(1, 12)), 90) == 10


def test_no_shows_cancellations_and_counters(engine):
    engine.at(0)
    engine.issue_ticket("B")  # B001: called at counter 1, never comes
    engine.issue_ticket("B")  # B002: gives up
    engine.issue_ticket("C")  # C001: served at counter 2
    engine.at(2)
    engine.call_next("1")
    engine.call_next("2")
    engine.at(3)
    engine.no_show("1")
    engine.cancel("B002")
    engine.at(9)
    engine.finish("2")

    result = report(engine)
    overall = result.overall
    assert (overall.issued, overall.served, overall.no_shows, overall.cancelled) == (3, 1, 1, 1)
    assert overall.mean_wait_minutes == 2  # only called tickets have a wait
    assert overall.mean_service_minutes == 7  # only served tickets have a service time

    b = result.per_service["B"]
    assert (b.issued, b.no_shows, b.cancelled, b.served) == (2, 1, 1, 0)
    assert b.mean_service_minutes is None
    assert list(result.per_service) == ["B", "C"]

    desk1, desk2 = result.per_counter["1"], result.per_counter["2"]
    assert (desk1.issued, desk1.no_shows, desk1.served) == (1, 1, 0)
    assert (desk2.issued, desk2.served, desk2.mean_service_minutes) == (1, 1, 7)


def missed_and_back(engine):
    """B001 missed, back and served at Loket 3; B002 missed, back and missed again; B003 missed."""
    engine.at(0)
    for _ in range(3):
        engine.issue_ticket("B")
    for minute, number in ((2, "B001"), (3, "B002"), (4, "B003")):
        engine.at(minute)
        assert engine.call_next("1").called.number == number
        engine.at(minute + 0.5)
        engine.no_show("1")
    engine.at(5)
    engine.reinstate("B001")
    engine.reinstate("B002")
    engine.at(10)
    assert engine.call_next("3").called.number == "B001"
    engine.at(12)
    engine.recall("3")  # the visit still runs from the call at 10
    engine.at(16)
    engine.finish("3")
    engine.at(20)
    assert engine.call_next("3").called.number == "B002"
    engine.at(21)
    engine.no_show("3")


def test_a_reinstated_visitor_counts_once_by_how_the_ticket_ended(engine):
    missed_and_back(engine)
    result = report(engine)
    overall = result.overall
    assert (overall.issued, overall.served, overall.no_shows, overall.reinstated) == (3, 1, 2, 2)
    assert overall.mean_service_minutes == 6  # the served visit: called at 10, done at 16
    assert overall.mean_wait_minutes == 3  # arrival to the first call: 2, 3 and 4 minutes
    # Each ticket is credited to the counter where it ended, and only there.
    desk1, desk3 = result.per_counter["1"], result.per_counter["3"]
    assert (desk1.issued, desk1.served, desk1.no_shows, desk1.reinstated) == (1, 0, 1, 0)
    assert (desk3.issued, desk3.served, desk3.no_shows, desk3.reinstated) == (2, 1, 1, 2)


def test_a_recall_does_not_shorten_the_measured_visit(engine):
    engine.at(0)
    engine.issue_ticket("A")
    engine.call_next("1")
    for minute in (3, 6):
        engine.at(minute)
        engine.recall("1")
    engine.at(10)
    engine.finish("1")
    assert report(engine).overall.mean_service_minutes == 10


def test_loket_stats_shows_reinstated_apart_in_text_json_and_csv(engine, tmp_path):
    missed_and_back(engine)
    engine.at(22)
    engine.issue_ticket("C")
    engine.cancel("C001")
    environment = {**os.environ, "COLUMNS": "100", "LOKET_FROZEN_CLOCK": START.isoformat()}
    path = tmp_path / "day.csv"

    def loket_stats(*options):
        done = subprocess.run(
            [sys.executable, "-m", "loket", "--db", engine.path, "stats", *options],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    overall = json.loads(loket_stats("--json", "--csv", str(path)))["overall"]
    counts = ("issued", "served", "no_shows", "reinstated", "cancelled", "expired")
    assert [overall[key] for key in counts] == [4, 1, 2, 2, 1, 0]
    with open(path, newline="", encoding="utf-8") as file:
        row = next(csv.DictReader(file))
    assert [row[key] for key in counts] == ["4", "1", "2", "2", "1", "0"]
    text = loket_stats().splitlines()
    header = next(line for line in text if line.split()[:5] == HEADER)
    figures = text[text.index(header) + 2].split()
    assert figures[:5] == ["4", "1", "2", "2", "1"]


HEADER = ["Issued", "Served", "No-show", "Back", "Left"]


def test_transferred_ticket_counts_under_its_new_service(engine):
    engine.at(0)
    engine.issue_ticket("A")
    engine.at(1)
    engine.call_next("1")
    engine.transfer("1", "C")
    engine.at(3)
    engine.call_next("2")
    engine.at(8)
    engine.finish("2")

    result = report(engine)
    assert list(result.per_service) == ["C"]
    assert result.per_service["C"].median_wait_minutes == 1  # first call counts, not the second
    assert list(result.per_counter) == ["2"]


def test_hours_are_local_time(engine):
    engine.at(59)  # 09:59 in Brussels
    engine.issue_ticket("A")
    engine.at(60)  # 10:00
    engine.issue_ticket("A")
    engine.issue_ticket("B")
    engine.at(9 * 60)  # 17:00 UTC is 18:00 local
    engine.issue_ticket("C")

    result = report(engine)
    assert result.arrivals_per_hour == {9: 1, 10: 2, 18: 1}
    assert list(result.per_hour) == [9, 10, 18]
    assert result.per_hour[10].issued == 2


def test_tickets_left_open_expire_the_next_day(engine):
    engine.at(0)
    engine.issue_ticket("A")
    engine.at(24 * 60)
    engine.issue_ticket("A")

    result = report(engine, DAY, DAY + timedelta(days=1))
    assert (result.overall.issued, result.overall.expired) == (2, 1)
    assert result.overall.share_within_target is None


def test_no_tickets_gives_empty_figures(engine):
    result = stats.compute([], engine.office)
    overall = result.overall
    assert (overall.issued, overall.served, overall.no_shows, overall.cancelled) == (0, 0, 0, 0)
    assert overall.mean_wait_minutes is None
    assert overall.median_wait_minutes is None
    assert overall.p90_wait_minutes is None
    assert overall.mean_service_minutes is None
    assert overall.share_within_target is None
    assert result.per_service == result.per_counter == result.per_hour == {}
    assert result.arrivals_per_hour == {}
    assert stats.to_dict(result)["services"] == []

    console = Console(file=io.StringIO(), width=100)
    stats.render(result, engine.office, console)


def test_to_dict_is_json_ready_and_rounded(engine):
    three_visitors(engine)
    data = json.loads(json.dumps(stats.to_dict(report(engine))))
    assert data["overall"]["mean_wait_minutes"] == 11.3
    assert data["overall"]["within_target_percent"] == 66.7
    assert data["services"] == [{"service": "A", **data["overall"]}]
    assert data["counters"][0]["counter"] == "1"
    assert data["hours"][0]["hour"] == 9


def test_csv_round_trip(engine, tmp_path):
    three_visitors(engine)
    engine.at(40)
    engine.issue_ticket("B")
    path = tmp_path / "stats.csv"
    stats.write_csv(report(engine), path)

    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert tuple(reader.fieldnames) == stats.CSV_FIELDS
    assert [(r["group"], r["key"]) for r in rows] == [
        ("overall", ""),
        ("service", "A"),
        ("service", "B"),
        ("counter", "1"),
        ("hour", "9"),
    ]
    overall = rows[0]
    assert (overall["issued"], overall["served"], overall["p90_wait_minutes"]) == ("4", "3", "20.0")
    b = rows[2]
    assert b["issued"] == "1"
    assert b["mean_wait_minutes"] == b["within_target_percent"] == ""


def test_render_prints_tables_and_bar_chart(engine):
    three_visitors(engine)
    engine.at(60)
    engine.issue_ticket("B")
    output = io.StringIO()
    stats.render(report(engine), engine.office, Console(file=output, width=100))
    text = output.getvalue()

    assert "A Identiteitskaart" in text  # long names may wrap at 100 columns
    assert "Loket 1" in text
    bars = {line.split()[0]: line for line in text.splitlines() if "█" in line}
    assert bars["09"] == "09 " + "█" * 40 + " 3"
    assert bars["10"] == "10 " + "█" * 13 + " 1"


def test_bar_chart_caps_width_and_keeps_small_counts_visible():
    lines = stats.bar_chart({8: 1000, 12: 1})
    assert lines == ["08 " + "█" * 40 + " 1000", "12 █ 1"]


NAMES = ("A Identiteitskaart en paspoort", "C Burgerlijke stand", "Loket 1", "Loket 2")


def two_services_two_counters(engine):
    three_visitors(engine)
    engine.at(40)
    engine.issue_ticket("C")
    engine.call_next("2")
    engine.at(45)
    engine.finish("2")


def assert_every_group_named(text: str, width: int) -> None:
    """Each name starts a line, and its figures follow on that line or just below it."""
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    for name in NAMES:
        at = next((i for i, line in enumerate(lines) if line.startswith(name)), None)
        assert at is not None, f"{name!r} missing at {width} columns:\n{text}"
        figures = lines[at][len(name) :].split() or lines[at + 1].split()
        assert figures[0] in ("1", "3", "Issued"), (name, lines[at : at + 2])


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_every_row_names_its_service_or_counter_at_any_width(engine, width):
    # Rich used to squeeze the name column out of sight: rows of figures without a name.
    two_services_two_counters(engine)
    output = io.StringIO()
    stats.render(report(engine), engine.office, Console(file=output, width=width))
    assert_every_group_named(output.getvalue(), width)


def test_at_80_columns_counters_stay_a_table_and_long_service_names_stack(engine):
    two_services_two_counters(engine)
    output = io.StringIO()
    stats.render(report(engine), engine.office, Console(file=output, width=80))
    lines = output.getvalue().splitlines()
    service = lines.index("A Identiteitskaart en paspoort")  # never cut inside a word
    assert lines[service + 1].split()[:4] == ["Issued", "3", "Served", "3"]
    assert "Loket 1         3      3       0    0    0 11.3   10.0 20.0     5.0   66.7%" in lines


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_loket_stats_piped_names_every_row(engine, columns):
    two_services_two_counters(engine)
    environment = {**os.environ, "COLUMNS": columns, "LOKET_FROZEN_CLOCK": START.isoformat()}
    done = subprocess.run(
        [sys.executable, "-m", "loket", "--db", engine.path, "stats"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert_every_group_named(done.stdout, int(columns))


def test_per_day_groups_by_service_day(engine):
    engine.at(0)  # Tuesday
    engine.issue_ticket("A")
    engine.issue_ticket("B")
    engine.at(15 * 60 + 30)  # 23:30 UTC is already Wednesday in Brussels
    engine.issue_ticket("A")
    days = stats.per_day(report_tickets(engine), engine.office)
    assert list(days) == [DAY, DAY + timedelta(days=1)]
    assert [f.issued for f in days.values()] == [2, 1]


def test_per_weekday_hour_uses_local_time(engine):
    engine.at(59)  # Tuesday 09:59 in Brussels
    engine.issue_ticket("A")
    engine.at(15 * 60 + 30)  # 23:30 UTC is already Wednesday 00:30 in Brussels
    engine.issue_ticket("A")
    engine.at(15 * 60 + 40)
    engine.call_next("1")
    cells = stats.per_weekday_hour(report_tickets(engine), engine.office)
    assert set(cells) == {(1, 9), (2, 0)}
    assert cells[2, 0].mean_wait_minutes == 10
    assert cells[1, 9].mean_wait_minutes is None  # the 09:59 visitor was expired, never called


def report_tickets(engine):
    return engine.tickets_between(DAY, DAY + timedelta(days=1))
