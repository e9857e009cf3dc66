"""The manager's HTML report: its charts, its refusals, and a real browser drawing it offline."""

from __future__ import annotations

import html
import json
import random
import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from loket import report
from loket.engine import Engine
from tests.browser import offline_page
from tests.conftest import Clock

BRUSSELS = ZoneInfo("Europe/Brussels")
FIRST_MONDAY = date(2026, 11, 2)
WEEKS = 3
LAST_FRIDAY = FIRST_MONDAY + timedelta(weeks=WEEKS, days=-3)
OPENING = ((time(9), time(12)), (time(13), time(16)))
COUNTERS = {"1": ("A", "B"), "2": ("A", "C"), "3": ("B", "C")}
SERVICE_MINUTES = {"A": 8, "B": 10, "C": 12}
NO_SHOW_CHANCE = 0.06


def visitors_per_hour(weekday: int, hour: int) -> float:
    """Busy Monday mornings and Thursday afternoons, a quiet Friday afternoon."""
    rate = 7.0
    if weekday == 0 and hour < 12:
        rate += 12
    if weekday == 3 and hour >= 13:
        rate += 8
    if weekday == 4 and hour >= 13:
        rate -= 4
    return rate


def a_day_at_the_office(engine: Engine, clock: Clock, day: date, rng: random.Random) -> None:
    """Visitors arrive, three counters call, serve and mark no-shows, minute by minute."""
    opens = datetime.combine(day, OPENING[0][0], BRUSSELS)
    minutes_open = [
        m
        for m in range(8 * 60)
        if any(start <= (opens + timedelta(minutes=m)).time() < end for start, end in OPENING)
    ]
    waiting = dict.fromkeys(SERVICE_MINUTES, 0)
    serving: dict[str, tuple[int, bool]] = {}  # counter: (minute it ends, visitor never came)
    for minute in range(8 * 60 + 30):
        moment = opens + timedelta(minutes=minute)
        clock.now = moment.astimezone(UTC)
        if (
            minute in minutes_open
            and rng.random() < visitors_per_hour(day.weekday(), moment.hour) / 60
        ):
            service = rng.choices("ABC", weights=(5, 3, 2))[0]
            engine.issue_ticket(service)
            waiting[service] += 1
        for counter, services in COUNTERS.items():
            if counter in serving and minute >= serving[counter][0]:
                no_show = serving.pop(counter)[1]
                (engine.no_show if no_show else engine.finish)(counter)
            if counter not in serving and any(waiting[s] for s in services):
                called = engine.call_next(counter).called
                waiting[called.service] -= 1
                no_show = rng.random() < NO_SHOW_CHANCE
                mean = SERVICE_MINUTES[called.service]
                length = 2 if no_show else rng.gammavariate(4, mean / 4)  # a few long visits
                serving[counter] = (minute + max(round(length), 2), no_show)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Three weeks of weekdays in the demo office, on a real database file."""
    path = tmp_path_factory.mktemp("history") / "loket.db"
    clock = Clock(datetime.combine(FIRST_MONDAY, time(8), BRUSSELS).astimezone(UTC))
    rng = random.Random(9)
    with Engine(path, clock=clock) as engine:
        for offset in range(WEEKS * 7):
            day = FIRST_MONDAY + timedelta(days=offset)
            if day.weekday() < 5:
                a_day_at_the_office(engine, clock, day, rng)
    return path


def run_report(*arguments: str) -> subprocess.CompletedProcess:
    """`loket report ...` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "loket", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )


def report_of(db, html, first=FIRST_MONDAY, last=LAST_FRIDAY) -> subprocess.CompletedProcess:
    arguments = ("--from", str(first), "--to", str(last), "--html", str(html))
    return run_report("--db", str(db), "report", *arguments)


def svg_texts(page: str, chart: str) -> list[str]:
    """The texts drawn in one chart of the page, e.g. its axis labels."""
    figure = re.search(f'<figure id="{chart}".*?</figure>', page, re.S)[0]
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", figure)]


WEEKDAYS = ["Maandag", "Dinsdag", "Woensdag", "Donderdag", "Vrijdag"]
SERVICES = ["A Identiteitskaart en paspoort", "B Verhuizing en adres", "C Burgerlijke stand"]
# Labels each chart must show: the manager reads the chart by them.
EXPECTED_LABELS = {
    "arrivals": [*WEEKDAYS, "09", "15", "uur"],
    "waits": [*WEEKDAYS, "09", "15", "uur"],
    "on-time": ["ma 2/11", "vr 20/11", "0%", "100%"],
    "service-time": SERVICES,
    "no-shows": SERVICES,
}


def test_the_page_draws_offline_in_headless_chromium(history, tmp_path):

    page_path = tmp_path / "report.html"
    done = report_of(history, page_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {page_path}: ")
    with offline_page(page_path) as shown:
        page = shown.page
        assert page.title() == "Loketrapport: Stadhuis Demo"
        for chart, labels in EXPECTED_LABELS.items():
            svg = page.locator(f"figure#{chart} svg")
            box = svg.bounding_box()
            assert box["width"] > 300 and box["height"] > 150, (chart, box)
            shown_labels = svg.locator("text").all_text_contents()
            assert set(labels) <= set(shown_labels), (chart, shown_labels)
        screenshot = tmp_path / "report.png"
        page.screenshot(path=screenshot, full_page=True)
        assert shown.requested == [page_path.as_uri()]  # nothing but the page itself
        assert shown.blocked == []

        # A picture from elsewhere is heard and blocked: the two checks above can fail.
        probe = "https://example.org/probe.png"
        with page.expect_event("requestfailed"):
            page.evaluate(f"document.body.append(Object.assign(new Image(), {{src: '{probe}'}}))")
        assert shown.requested[1:] == shown.blocked == [probe]

    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.width == 1200 and image.height > 1200  # the whole page, charts and all
        assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50  # drawn, not blank


def test_the_page_needs_nothing_from_elsewhere(history, tmp_path):
    page_path = tmp_path / "report.html"
    assert report_of(history, page_path).returncode == 0
    page = page_path.read_text(encoding="utf-8")
    for fetching in ("<script", "<link", "<img", "<iframe", "@import"):
        assert fetching not in page.lower(), fetching
    references = re.findall(r"(?:url\(|href=|src=)[\"']?([^\"')\s]*)", page)
    assert references  # clip paths, markers and the colour bars' gradients, all inside the page
    assert [r for r in references if not r.startswith(("#", "data:"))] == []
    assert page.count("<svg") == len(EXPECTED_LABELS)


def test_key_figures_are_the_ones_loket_stats_gives(history, tmp_path):
    page_path = tmp_path / "report.html"
    assert report_of(history, page_path).returncode == 0
    page = page_path.read_text(encoding="utf-8")
    done = run_report(
        "--db",
        str(history),
        "--json",
        "stats",
        "--from",
        str(FIRST_MONDAY),
        "--to",
        str(LAST_FRIDAY),
    )
    overall = json.loads(done.stdout)["overall"]
    assert f"<strong>{overall['issued']}</strong> tickets uitgegeven" in page
    assert f"<strong>{overall['served']}</strong> bezoekers geholpen" in page
    assert f"<strong>{overall['no_shows']}</strong> bezoekers niet opgedaagd" in page
    on_time = round(overall["within_target_percent"])
    assert f"<strong>{on_time}%</strong> opgeroepen binnen 15 min" in page
    assert "maandag 2 november 2026 – vrijdag 20 november 2026" in page


def test_heatmaps_show_the_mean_per_day_and_the_mean_wait(tmp_path):
    # Two Mondays in the period: 3 visitors at 9 on the first, 1 on the second: 2,0 a day.
    clock = Clock(datetime(2026, 11, 2, 8, 10, tzinfo=UTC))  # 09:10 in Brussels
    with Engine(tmp_path / "loket.db", clock=clock) as engine:
        for _ in range(3):
            engine.issue_ticket("A")
        clock.advance(minutes=20)
        engine.call_next("1")  # the first waited 20 minutes
        clock.now = datetime(2026, 11, 9, 8, 30, tzinfo=UTC)
        engine.issue_ticket("B")
        tickets = engine.tickets_between(date(2026, 11, 2), date(2026, 11, 15))
        page = report.render_page(tickets, engine.office, date(2026, 11, 2), date(2026, 11, 15))
    arrivals = svg_texts(page, "arrivals")
    assert "2,0" in arrivals and "Maandag" in arrivals and "Dinsdag" not in arrivals
    assert "20" in svg_texts(page, "waits")
    assert "Niets te tonen voor deze periode." in page  # nobody was served: no service times


def test_names_are_shown_as_written_in_the_offices_language(tmp_path):
    config = """
office = "Stad <Zuid> & Co"
languages = ["fr", "nl"]
[[services]]
code = "A"
name = { fr = "Urbanisme & <logement> $5 $6", nl = "Bouwen" }
[[counters]]
id = "1"
services = ["A"]
"""
    clock = Clock(datetime(2026, 11, 2, 8, 10, tzinfo=UTC))
    with Engine(tmp_path / "loket.db", create=True, config_text=config, clock=clock) as engine:
        engine.init(config)
        engine.issue_ticket("A")
        clock.advance(minutes=3)
        engine.call_next("1")
        clock.advance(minutes=7)
        engine.finish("1")
        day = date(2026, 11, 2)
        page = report.render_page(engine.tickets_between(day, day), engine.office, day, day)
    assert "<h1>Rapport des guichets: Stad &lt;Zuid&gt; &amp; Co</h1>" in page
    assert "lundi 2 novembre 2026" in page
    assert "A Urbanisme & <logement> $5 $6" in svg_texts(page, "service-time")  # no maths
    assert "7,0 min" in svg_texts(page, "service-time")


@pytest.mark.parametrize(
    "first, last, html_name, said",
    [
        ("2026-11-20", "2026-11-02", "r.html", "--to 2026-11-02 is before --from 2026-11-20"),
        ("2026-11-31", "2026-12-01", "r.html", "'2026-11-31' is not a date like 2026-12-01"),
        ("2026-11-02", "2026-11-20", "missing/r.html", "there is no folder"),
        ("2026-11-02", "2026-11-20", ".", "is a folder"),
        ("2026-10-01", "2026-10-31", "r.html", "no tickets from 2026-10-01 to 2026-10-31"),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_no_file(
    history, tmp_path, first, last, html_name, said
):
    out = tmp_path / "out"
    out.mkdir()
    done = report_of(history, out / html_name, first, last)
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert list(out.iterdir()) == []


def test_only_loket_report_loads_matplotlib(history, tmp_path):
    status = run_report("--db", str(history), "status")
    timed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "loket", "--db", str(history), "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert timed.returncode == status.returncode == 0, timed.stderr[-500:]
    assert "matplotlib" not in timed.stderr
    arguments = ["report", "--from", str(FIRST_MONDAY), "--to", str(LAST_FRIDAY)]
    drawn = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "loket", "--db", str(history), *arguments,
         "--html", str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert "matplotlib" in drawn.stderr  # the check above would see it
