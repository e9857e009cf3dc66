"""`loket simulate --html`: the simulation's page beside the days it learned from, drawn
offline in a real browser, with the numbers of `loket simulate --json` and `loket stats`."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta

import pytest

from loket import report, stats
from loket import simulate as sim
from loket.engine import Engine
from loket.simulate_history import DEMO_HOURS, SetClock, demo_load, record
from tests.browser import offline_page

MONDAY = date(2026, 11, 2)
THURSDAY = MONDAY + timedelta(days=3)
PERIOD = ("--from", str(MONDAY), "--to", str(THURSDAY))
TRIED = ("--plan", "08:30-12:00=5, 12:00-16:00=3", "--goal", "80% within 10")
SIMULATED = ("--days", "12", "--seed", "3")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Four weekdays of the demo office, every ticket issued, called and finished by the engine."""
    path = tmp_path_factory.mktemp("history") / "loket.db"
    clock = SetClock(datetime.combine(MONDAY, time(7), UTC))
    with Engine(path, clock=clock) as engine:
        plan = sim.constant_plan(*DEMO_HOURS, len(engine.office.counters))
        days = [MONDAY + timedelta(days=n) for n in range(4)]
        record(engine, clock, demo_load, plan, days, seed=4)
    return path


def loket(*arguments: str, importtime: bool = False) -> subprocess.CompletedProcess:
    """`loket ...` as a real process."""
    options = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *options, "-m", "loket", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )


def simulate_page(db, page, *more: str) -> subprocess.CompletedProcess:
    return loket(
        "--db", str(db), "simulate", *PERIOD, *TRIED, *SIMULATED, *more, "--html", str(page)
    )


@pytest.fixture(scope="module")
def page_path(history, tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "simulation.html"
    done = simulate_page(history, path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith(f"wrote {path}")
    return path


def comma(value: float) -> str:
    """A figure as the Dutch page writes it."""
    return f"{value:.1f}".replace(".", ",")


def with_interval(figure: float, half_width: float) -> str:
    return f"{comma(figure)} ±{comma(half_width)}"


def table_rows(page: str) -> dict[str, list[str]]:
    """The page's table of hours: '09:00' -> its six cells."""
    rows = re.findall(r'<tr id="hour-\d\d"><th>(\d\d:00)</th>(.*?)</tr>', page)
    return {hour: re.findall(r"<td>([^<]*)</td>", cells) for hour, cells in rows}


def test_the_page_draws_offline_in_headless_chromium(page_path, tmp_path):
    legend = ["Gesimuleerd", "Werkelijk", "uur", "min", "08", "11", "15"]
    expected = {
        "simulated-mean": legend,
        "simulated-p90": [*legend, "Opgeroepen binnen 10 min"],  # the goal's line
    }
    with offline_page(page_path) as shown:
        page = shown.page
        assert page.title() == "Simulatie: Stadhuis Demo"
        for chart, labels in expected.items():
            svg = page.locator(f"figure#{chart} svg")
            box = svg.bounding_box()
            assert box["width"] > 300 and box["height"] > 150, (chart, box)
            shown_labels = svg.locator("text").all_text_contents()
            assert set(labels) <= set(shown_labels), (chart, shown_labels)
        table = page.locator("table#hours").bounding_box()
        assert table["width"] > 300 and table["height"] > 150
        assert "Gemiddelde wachttijd (min)" in page.locator("table#hours").inner_text()
        screenshot = tmp_path / "simulation.png"
        page.screenshot(path=screenshot, full_page=True)
    assert shown.requested == [page_path.as_uri()]  # nothing but the page itself
    assert shown.blocked == []
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.height > 1000  # both charts and the table
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50  # drawn


def test_the_page_needs_nothing_from_elsewhere(page_path):
    page = page_path.read_text(encoding="utf-8")
    for fetching in ("<script", "<link", "<img", "<iframe", "@import"):
        assert fetching not in page.lower(), fetching
    references = re.findall(r"(?:url\(|href=|src=)[\"']?([^\"')\s]*)", page)
    assert [r for r in references if not r.startswith(("#", "data:"))] == []
    assert page.count("<svg") == 2


def test_the_numbers_are_those_of_simulate_json_and_of_stats(history, page_path):
    page = page_path.read_text(encoding="utf-8")
    assert "Elk loket in dit plan helpt voor elke dienst." in page  # a --plan's counters
    done = loket("--db", str(history), "--json", "simulate", *PERIOD, *TRIED, *SIMULATED)
    simulated = json.loads(done.stdout)
    done = loket("--db", str(history), "--json", "stats", *PERIOD)
    real = {f"{h['hour']:02d}:00": h for h in json.loads(done.stdout)["hours"]}
    rows = table_rows(page)
    assert list(rows) == sorted({h["hour"] for h in simulated["hours"]} | set(real))
    assert len(rows) >= 7  # a whole day of hours
    for hour in simulated["hours"]:
        ci = hour["ci95"]
        cells = rows[hour["hour"]]
        assert cells[0] == with_interval(hour["arrivals"], ci["arrivals"])
        assert cells[2] == with_interval(hour["mean_wait_minutes"], ci["mean_wait_minutes"])
        assert cells[4] == with_interval(hour["p90_wait_minutes"], ci["p90_wait_minutes"])
    for hour, figures in real.items():
        cells = rows[hour]
        assert cells[1] == comma(figures["issued"] / 4)  # four days
        assert cells[3] == comma(figures["mean_wait_minutes"])
        assert cells[5] == comma(figures["p90_wait_minutes"])

    day = simulated["overall"]
    wait = comma(day["mean_wait_minutes"])
    with Engine(history, create=False) as engine:
        recorded = stats.figures(engine.tickets_between(MONDAY, THURSDAY), 10)
    assert (
        f"<strong>{wait}</strong> ±{comma(day['ci95']['mean_wait_minutes'])} min gemiddelde "
        f"wachttijd (werkelijk: {comma(recorded.mean_wait_minutes)})" in page
    )
    on_time = f"<strong>{day['within_target']:.0%}</strong>"
    assert f"opgeroepen binnen 10 min (werkelijk: {recorded.share_within_target:.0%})" in page
    assert on_time in page
    assert f"Getest plan (loketten per tijdvak): {simulated['plan']}</p>" in page
    assert "Doel: 80% opgeroepen binnen 10 min</p>" in page
    assert "Geleerd uit 4 dagen: maandag 2 november 2026 – donderdag 5 november 2026" in page


def test_no_goal_is_shown_when_none_was_given(history, tmp_path):
    path = tmp_path / "page.html"
    done = loket("--db", str(history), "simulate", *PERIOD, *SIMULATED, "--html", str(path))
    assert done.returncode == 0, done.stderr
    page = path.read_text(encoding="utf-8")
    assert "Getest plan (loketten per tijdvak): 08:30-16:00=4</p>" in page  # as configured
    assert "De loketten van het kantoor, elk met zijn eigen diensten." in page
    assert "Elk loket in dit plan helpt voor elke dienst." not in page
    assert "Doel:" not in page
    assert "opgeroepen binnen 15 min" in page  # the office's target_wait_minutes


def test_the_page_speaks_the_offices_language(history):
    with Engine(history, create=False) as engine:
        tickets = engine.tickets_between(MONDAY, THURSDAY)
        office = dataclasses.replace(engine.office, languages=("en", "nl"))
    load = sim.learn(tickets, office, "four days")
    result = sim.simulate(load, office, None, days=3, seed=1)
    page = report.render_simulation(result, tickets, office, sim.Goal(0.9, 15))
    assert "<h1>Simulation: Stadhuis Demo</h1>" in page
    assert "Goal: 90% called within 15 min</p>" in page
    assert re.search(
        r"<strong>\d+\.\d</strong> ±\d+\.\d min average wait \(actual: \d+\.\d\)", page
    )
    assert "Learned from 4 days: Monday 2 November 2026 – Thursday 5 November 2026" in page


@pytest.mark.parametrize(
    ("arguments", "html_name", "says", "code"),
    [
        (PERIOD, "missing/page.html", "there is no folder", 2),
        (PERIOD, ".", "is a folder", 2),
        ((*PERIOD, "--arrivals", "A=20/h"), "page.html", "leave out --arrivals", 2),
        (("--from", str(MONDAY), "--to", "2026-11-01"), "page.html", "is before --from", 2),
        ((*PERIOD, "--weekday", "fri"), "page.html", "too little to learn from", 1),
        ((*PERIOD, "--counters", "1"), "page.html", "never empty", 1),
    ],
)
def test_bad_input_is_one_sentence_and_no_file(history, tmp_path, arguments, html_name, says, code):
    out = tmp_path / "out"
    out.mkdir()
    page = str(out / html_name)
    done = loket("--db", str(history), "simulate", *arguments, *SIMULATED, "--html", page)
    assert done.returncode == code, done.stderr
    assert says in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert list(out.iterdir()) == []


def test_only_a_page_loads_matplotlib(history, tmp_path):
    plain = loket("--db", str(history), "simulate", *PERIOD, *SIMULATED, importtime=True)
    assert plain.returncode == 0, plain.stderr[-500:]
    assert "matplotlib" not in plain.stderr
    page = tmp_path / "page.html"
    drawn = loket(
        "--db", str(history), "simulate", *PERIOD, *SIMULATED, "--html", str(page), importtime=True
    )
    assert drawn.returncode == 0 and page.exists()
    assert "matplotlib" in drawn.stderr  # the check above would see it
