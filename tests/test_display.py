"""The waiting-room display as visitors see it: the latest call, earlier calls, lines, voice."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from display import layout
from display.app import DisplayApp
from display.bigtext import BigText
from loket import glyphs
from loket.config import default_config_text
from loket.engine import Engine
from loket.glyphs import render

WIDE = (120, 40)


def shown(app, selector: str) -> str:
    return str(app.query_one(selector).render())


def called(app) -> str:
    """The latest call in words, however it is laid out: "B001 > LOKET 3"."""
    number = app.query_one("#now-number").text
    counter = " ".join(app.query_one("#now-counter").lines)
    return f"{number} > {counter}" if counter else number


class Voice:
    """Stands in for espeak-ng: records what would have been said."""

    def __init__(self):
        self.said: list[str] = []
        self.done = threading.Event()

    def __call__(self, sentence: str) -> None:
        self.said.append(sentence)
        self.done.set()


@pytest.fixture
def make_display(db_path, clock):
    def make(**kwargs) -> DisplayApp:
        kwargs.setdefault("poll_interval", 0.02)
        return DisplayApp(str(db_path), clock=clock, **kwargs)

    return make


async def until(pilot, condition, seconds: float = 2.0) -> None:
    """Let the app run until `condition()` holds (the display polls on its own timer)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the display did not catch up in time")


async def test_a_call_shows_big_with_its_counter_and_stands_out(make_display, office):
    office.issue_ticket("A")
    office.issue_ticket("B")
    app = make_display()
    async with app.run_test(size=WIDE) as pilot:
        assert shown(app, "#now-text") == "Nog niemand opgeroepen"
        office.call_next("3")
        await until(pilot, lambda: app.query_one("#now-number").text)
        assert called(app) == "B001 > LOKET 3"
        assert "fresh" in app.query_one("#now").classes
        assert shown(app, "#waiting") == "Wachtend:  A 1   B 0   C 0   D 0"
        assert shown(app, "#message") == "Welkom · Bienvenue · Welcome · Willkommen"
        assert shown(app, "#clock") == "09:00"


async def test_a_narrow_screen_puts_the_counter_below_wrapped_or_written_out(make_display, office):
    office.issue_ticket("A")
    office.call_next("4")
    app = make_display()
    async with app.run_test(size=(50, 30)):
        assert app.query_one("#now-number").lines == ("A001",)
        assert app.query_one("#now-counter").lines == ("LOKET 4",)
    async with make_display().run_test(size=(40, 32)) as pilot:
        assert pilot.app.query_one("#now-number").lines == ("A001",)
        assert pilot.app.query_one("#now-counter").lines == ("LOKET", "4")
    async with make_display().run_test(size=(30, 30)) as pilot:
        assert pilot.app.query_one("#now-number").lines == ("A001",)
        assert not pilot.app.query_one("#now-counter").display
        assert shown(pilot.app, "#now-text") == "→ Loket 4"


async def test_the_highlight_fades_after_the_configured_seconds(make_display, office):
    office.init(default_config_text().replace("highlight_seconds = 8", "highlight_seconds = 1"))
    office.issue_ticket("A")
    app = make_display()
    async with app.run_test(size=WIDE) as pilot:
        assert "fresh" not in app.query_one("#now").classes  # nothing new yet
        office.call_next("1")
        await until(pilot, lambda: "fresh" in app.query_one("#now").classes)
        await pilot.pause(1.2)
        assert "fresh" not in app.query_one("#now").classes


async def test_earlier_calls_newest_first_each_number_once(make_display, office):
    for _ in range(4):
        office.issue_ticket("A")
    app = make_display(history=2)
    async with app.run_test(size=WIDE) as pilot:
        office.call_next("1")  # A001 at 1
        office.call_next("2")  # A002 at 2
        office.call_next("4")  # A003 at 4
        office.recall("1")  # A001 again: it moves to the top, not listed twice
        await until(pilot, lambda: app.query_one("#now-number").text.startswith("A001"))
        assert shown(app, "#earlier") == "A003     → Loket 4\nA002     → Loket 2"


async def test_a_display_for_one_wing_shows_only_its_services_and_counters(make_display, office):
    office.issue_ticket("A")
    office.issue_ticket("B")
    office.issue_ticket("C")
    app = make_display(services=frozenset({"B", "C"}), counters=frozenset({"3"}))
    async with app.run_test(size=WIDE) as pilot:
        office.call_next("2")  # A001 at counter 2: neither its service nor its counter
        office.call_next("1")  # B001 at counter 1: its service, not its counter
        office.call_next("3")  # C001 at counter 3
        await until(pilot, lambda: app.query_one("#now-number").text)
        assert called(app) == "C001 > LOKET 3"
        assert shown(app, "#earlier") == ""
        assert shown(app, "#waiting") == "Wachtend:  B 0   C 0"


async def test_it_starts_with_todays_calls_and_announces_only_new_ones(make_display, office, clock):
    office.issue_ticket("A")
    office.call_next("1")
    clock.advance(days=1)
    office.issue_ticket("B")
    office.issue_ticket("B")
    office.call_next("3")
    voice = Voice()
    app = make_display(voice="nl", speak=voice)
    async with app.run_test(size=WIDE) as pilot:
        assert called(app) == "B001 > LOKET 3"
        assert shown(app, "#earlier") == ""  # yesterday's A001 is not today's
        office.call_next("3")
        await until(pilot, voice.done.is_set)
        app.announcer.wait()
    assert voice.said == ["Nummer B 2, loket 3."]


async def test_every_call_and_recall_is_announced_in_order(make_display, office):
    office.issue_ticket("A")
    office.issue_ticket("A")
    voice = Voice()
    app = make_display(voice="fr", speak=voice)
    async with app.run_test(size=WIDE) as pilot:
        office.call_next("1")
        office.call_next("2")
        office.recall("1")
        await until(pilot, lambda: len(voice.said) == 3)
    assert voice.said == [
        "Numéro A 1, guichet 1.",
        "Numéro A 2, guichet 2.",
        "Numéro A 1, guichet 1.",
    ]


async def test_no_names_ever_reach_the_display(make_display, office, clock):
    booking = office.add_appointment("A", clock.now, name="Marie Peeters")
    office.check_in(booking.reference)
    app = make_display()
    async with app.run_test(size=WIDE) as pilot:
        office.call_next("1")
        await until(pilot, lambda: app.query_one("#now-number").text)
        everything = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert "Peeters" not in everything and "Marie" not in everything


async def test_without_a_database_it_asks_for_a_moment_then_recovers(make_display, db_path, clock):
    app = make_display()
    app.retry.seconds = 0.05
    async with app.run_test(size=WIDE) as pilot:
        assert "unavailable" in app.screen.classes
        assert "Een ogenblik geduld" in shown(app, "#unavailable")
        assert not app.query_one("#board").display
        with Engine(db_path, clock=clock) as engine:
            engine.issue_ticket("A")
            engine.call_next("1")
        await until(pilot, lambda: "unavailable" not in app.screen.classes)
        assert called(app) == "A001 > LOKET 1"


async def test_a_replaced_database_file_is_noticed_and_followed(
    make_display, db_path, tmp_path, clock
):
    # Writers are stopped while a backup is restored: SQLite cannot pair a live
    # writer's WAL with another file. The display may stay up and must follow.
    with Engine(db_path, clock=clock) as office:
        office.issue_ticket("A")
        office.call_next("1")
    replacement = tmp_path / "new.db"
    with Engine(replacement, clock=clock) as engine:
        engine.issue_ticket("C")
        engine.call_next("2")
    app = make_display()
    app.retry.seconds = 0.05
    async with app.run_test(size=WIDE) as pilot:
        assert called(app) == "A001 > LOKET 1"
        os.replace(replacement, db_path)  # e.g. restored from a backup
        await until(pilot, lambda: app.query_one("#now-number").text.startswith("C001"))
        assert called(app) == "C001 > LOKET 2"


async def test_a_deleted_database_file_blanks_the_calls(make_display, office, db_path):
    office.issue_ticket("A")
    office.call_next("1")
    app = make_display()
    async with app.run_test(size=WIDE) as pilot:
        os.remove(db_path)
        await until(pilot, lambda: "unavailable" in app.screen.classes)
        assert not app.query_one("#board").display  # no stale calls that look live
        assert app.query_one("#unavailable").display


async def test_missing_espeak_gives_one_warning_and_the_display_runs_on(
    make_display, office, monkeypatch
):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    app = make_display(voice="nl")
    async with app.run_test(size=WIDE) as pilot:
        office.issue_ticket("A")
        office.call_next("1")
        await until(pilot, lambda: app.query_one("#now-number").text)
        notes = [n.message for n in app._notifications]
        assert notes == [
            "Announcements without voice: espeak-ng is not installed "
            "(Debian: apt-get install espeak-ng)"
        ]


async def test_a_large_screen_shows_earlier_calls_big_too_with_their_counters_names(
    make_display, office
):
    office.init(with_counter_two_named("Balie 7"))
    for service in "ABC":
        office.issue_ticket(service)
    for desk in "123":
        office.call_next(desk)
    app = make_display()
    async with app.run_test(size=(240, 67)):
        assert app.query_one("#earlier-big").display
        assert not app.query_one("#earlier").display
        assert called(app) == "B001 > LOKET 3"
        side_by_side = zip(render("C001 > BALIE 7"), render("A001 > LOKET 1"), strict=True)
        assert shown(app, "#earlier-big") == "\n".join(
            f"{left}{' ' * 10}{right}".rstrip() for left, right in side_by_side
        )
    async with make_display().run_test(size=(100, 24)) as pilot:  # no room: a plain list
        assert not pilot.app.query_one("#earlier-big").display
        assert shown(pilot.app, "#earlier") == "C001     → Balie 7\nA001     → Loket 1"


async def test_at_midnight_yesterdays_calls_leave_the_screen(make_display, office, clock):
    clock.now = clock.now.replace(hour=22, minute=59, second=58)  # 23:59:58 in Brussels
    office.issue_ticket("A")
    office.call_next("1")
    voice = Voice()
    app = make_display(voice="nl", speak=voice)
    async with app.run_test(size=WIDE) as pilot:
        assert called(app) == "A001 > LOKET 1"
        clock.advance(seconds=3)
        await until(pilot, lambda: app.query_one("#now-number").text == "", seconds=3)
        assert shown(app, "#now-text") == "Nog niemand opgeroepen"
        office.issue_ticket("B")
        office.call_next("3")
        await until(pilot, voice.done.is_set)
    assert voice.said == ["Nummer B 1, loket 3."]


async def test_a_new_message_line_shows_without_a_restart(make_display, office):
    app = make_display()
    async with app.run_test(size=WIDE) as pilot:
        office.init(
            default_config_text().replace(
                'message = "Welkom · Bienvenue · Welcome · Willkommen"',
                'message = "Vandaag sluiten we om 12:00"',
            )
        )
        await until(pilot, lambda: shown(app, "#message") == "Vandaag sluiten we om 12:00")


async def test_the_layout_follows_the_screen_when_it_is_resized(make_display, office):
    office.issue_ticket("A")
    office.issue_ticket("A")
    office.call_next("1")
    office.call_next("2")
    app = make_display()
    async with app.run_test(size=(60, 30)) as pilot:
        assert called(app) == "A002 > LOKET 2"
        small = app.query_one("#now-number").scale
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert called(app) == "A002 > LOKET 2"
        assert app.query_one("#now-number").scale > small
        assert app.query_one("#earlier-big").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.query_one("#now-number").scale == 1
        half_size = [row.rstrip() for row in glyphs.halved("A001 > LOKET 1")]
        assert shown(app, "#earlier-big") == "\n".join(half_size)
        await pilot.resize_terminal(76, 24)  # one column short for it: a list
        await pilot.pause()
        assert not app.query_one("#earlier-big").display
        assert shown(app, "#earlier") == "A001     → Loket 1"


def with_counter_two_named(name: str) -> str:
    """The demo office with counter 2 named `name`, so that its id and name differ."""
    config = default_config_text()
    assert 'name = "Loket 2"' in config
    return config.replace('name = "Loket 2"', f'name = "{name}"')


def ink(rows: list[str]) -> list[str]:
    """The rows with ink, uncentred, each once: drawn taller, a glyph repeats its rows."""
    inked = [row.strip() for row in rows if row.strip()]
    return [row for before, row in zip([None, *inked], inked, strict=False) if row != before]


def drawn(widget) -> list[str]:
    """What a glyph widget paints."""
    return ink(str(widget.render()).splitlines())


def glyph_rows(widget) -> list[str]:
    """What its lines make in glyphs at its scale."""
    return ink([row for line in widget.lines for row in glyphs.scaled(line, widget.scale)])


# From the smallest terminal the display is made for to a 4K TV, with odd sizes between.
SIZES = [
    (80, 24), (100, 30), (120, 36), (150, 40), (160, 48), (203, 57),
    (240, 67), (277, 71), (320, 90), (320, 24), (80, 90),
    (53, 47),  # the display's pane in `loket demo`
]  # fmt: skip


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
async def test_the_latest_call_takes_half_the_screen_with_its_counters_name(
    make_display, office, size
):
    office.init(with_counter_two_named("Balie 7"))
    for _ in range(7):
        office.issue_ticket("A")
    for desk in "2121212":
        office.call_next(desk)  # A007 at counter 2, "Balie 7"; A006 at Loket 1 before it
    width, height = size
    app = make_display()
    async with app.run_test(size=size):
        panel = app.query_one("#now").region
        assert panel.height >= height / 2
        assert panel.bottom < app.query_one("#earlier-label").region.y < height - 2
        assert called(app) == "A007 > BALIE 7"
        for widget in [w for w in app.query_one("#now").query(BigText) if w.display]:
            assert drawn(widget) == glyph_rows(widget)
            # The room the plan counted on is there: no glyph row is wrapped or cut.
            assert widget.content_region.width == width - layout.PANEL_COLUMNS
            assert widget.region.height == len(str(widget.render()).splitlines())
        # Earlier calls name their counter too, in glyphs or in a list: never "A006 > 1".
        if app.query_one("#earlier-big").display:
            drawing = shown(app, "#earlier-big")
            sizes = (layout.HALF, 1, 2, 3)
            tops = [layout.draw("A006 > LOKET 1", size)[0].rstrip() for size in sizes]
            assert any(top in drawing for top in tops)
        else:
            assert shown(app, "#earlier").startswith("A006     → Loket 1\nA005     → Balie 7")


def sizes_between(smallest: tuple[int, int], largest: tuple[int, int]):
    """A spread of screen sizes from `smallest` to `largest`, both included."""
    widths = sorted({*range(smallest[0], largest[0], 11), largest[0]})
    heights = sorted({*range(smallest[1], largest[1], 5), largest[1]})
    return [(width, height) for width in widths for height in heights]


@pytest.mark.parametrize(
    "number, name",
    [("A007", "Loket 7"), ("AB0123", "Balie 12"), ("C001", "Burgerlijke stand en bevolking")],
)
def test_at_every_size_the_latest_call_takes_half_the_screen_and_fits(number, name):
    for width, height in sizes_between((80, 24), (320, 90)):
        plan = layout.latest_on_screen(number, name, width, height)
        room = width - layout.PANEL_COLUMNS
        assert plan.rows + layout.PANEL_ROWS >= height / 2, (width, height, plan)
        assert plan.rows <= height - layout.FIXED_ROWS - 4, (width, height, plan)  # earlier
        assert layout.columns(plan.number, plan.number_scale) <= room, (width, height, plan)
        assert all(layout.columns(line, plan.counter_scale) <= room for line in plan.counter)
        # The counter's name in glyphs too, where a long one has the rows to wrap.
        assert not plan.small or (len(name) > 20 and height < 48), (width, height, plan)


def test_a_long_counter_name_is_wrapped_in_glyphs_where_there_is_room():
    plan = layout.latest_on_screen("C001", "Burgerlijke stand en bevolking", 240, 67)
    assert len(plan.counter) > 1
    assert " ".join(plan.counter) == "BURGERLIJKE STAND EN BEVOLKING"
    assert layout.latest_on_screen("C001", "Burgerlijke stand", 80, 24).small == (
        "→ Burgerlijke stand"
    )
