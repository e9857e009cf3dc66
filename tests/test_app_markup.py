"""Names from an office config reach the screen as the characters staff typed, never as markup.

Rich/Textual markup such as `[/]` once crashed the apps with a MarkupError, and `[b]` or
`[link=...]` in a name was obeyed instead of shown.
"""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from counter.app import CounterApp
from display.app import DisplayApp
from kiosk.app import KioskApp
from loket.config import default_config_text
from loket.engine import Engine

MARKUP = "[/] [b]bold[/b] [link=https://x]y[/link]"
OFFICE = f"Stad {MARKUP}"
SERVICE = f"Paspoort {MARKUP}"
COUNTER = f"Balie {MARKUP}"
MESSAGE = f"Welkom {MARKUP}"


def office_config() -> str:
    """The demo office with markup in its name, service A, counter 1 and the display message."""
    config = default_config_text()
    for old, new in [
        ('office = "Stadhuis Demo"', f'office = "{OFFICE}"'),
        ('nl = "Identiteitskaart en paspoort"', f'nl = "{SERVICE}"'),
        ('name = "Loket 1"', f'name = "{COUNTER}"'),
        (
            'message = "Welkom · Bienvenue · Welcome · Willkommen"',
            f'message = "{MESSAGE}"',
        ),
    ]:
        assert old in config
        config = config.replace(old, new, 1)
    return config


@pytest.fixture
def office(db_path, clock):
    """That office on a fresh database, as staff use it beside the app."""
    with Engine(db_path, clock=clock) as engine:
        engine.init(office_config())
        yield engine


def screen_text(app) -> str:
    """What every widget of the current screen shows, option lists and toasts included."""
    widgets = app.screen.query("Static, Button, Label, Toast")
    shown = [str(widget.render()) for widget in widgets]
    for options in app.screen.query(OptionList):
        shown += [str(option.prompt) for option in options.options]
    return "\n".join(shown)


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_kiosk_shows_names_with_brackets_as_typed(office, db_path, clock):
    app = KioskApp(str(db_path), clock=clock, cursor_blink=False)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        start = screen_text(app)
        assert OFFICE in start
        assert SERVICE in start
        await pilot.click("#service-A")
        await settle(pilot)
        assert SERVICE in str(app.screen.query_one("#service").render())


async def test_the_counter_shows_names_with_brackets_as_typed(office, db_path, clock):
    office.issue_ticket("A")
    app = CounterApp(str(db_path), "1", clock=clock, watch_interval=3600)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        assert f"{COUNTER} · {OFFICE}" in screen_text(app)
        assert SERVICE in screen_text(app)  # the line
        await pilot.press("n")
        await settle(pilot)
        assert SERVICE in str(app.query_one("#details").render())
        await pilot.press("i")
        await pilot.pause()
        assert f"A  {SERVICE}" in screen_text(app)  # the dialog's list of services


async def test_the_display_shows_names_with_brackets_as_typed(office, db_path, clock):
    office.issue_ticket("A")
    office.issue_ticket("A")
    app = DisplayApp(str(db_path), clock=clock, poll_interval=0.02)
    # Narrow: the counter's name is written out instead of "LOKET 1" in big glyphs.
    async with app.run_test(size=(40, 30), notifications=True) as pilot:
        office.call_next("1")
        office.call_next("1")
        for _ in range(100):
            await pilot.pause(0.02)
            if app.query_one("#now-number").text == "A002":
                break
        shown = screen_text(app)
        assert OFFICE in shown
        assert MESSAGE in shown
        assert f"→ {COUNTER}" in shown
        # A warning may quote outside text too, e.g. a voice named on the command line.
        app._warn(f"Announcements without voice: {MARKUP}")
        for _ in range(10):
            await pilot.pause(0.02)
        assert f"without voice: {MARKUP}" in screen_text(app)
