"""What the counter app looks like at a desk, with a frozen clock and no blinking cursor.

At 80x24 and 160x48: the visitor at the counter stays in view behind every dialog, and the
line's counts, next numbers and "served" show. Run `pytest tests/test_counter_snapshots.py
--snapshot-update` after a deliberate change of look, and read the new SVGs
(tests/__snapshots__/) before committing them.
"""

from __future__ import annotations

import pytest

from counter.app import CounterApp
from loket.config import default_config_text
from loket.engine import Engine
from tests.conftest import Clock, busy_morning

SMALL, LARGE = (80, 24), (160, 48)


@pytest.fixture
def busy_office(tmp_path):
    """A morning at the demo office: a few calls made, a few visitors waiting."""
    clock = Clock()
    path = tmp_path / "loket.db"

    def make(config: str | None = None) -> tuple[str, Clock]:
        with Engine(path, clock=clock) as engine:
            if config:
                engine.init(config)
            busy_morning(engine, clock)
        return str(path), clock

    return make


def counter(path: str, clock: Clock, desk: str = "1") -> CounterApp:
    """The counter with test settings: no live updates, no moving clock, no blinking."""
    return CounterApp(
        path, desk, clock=clock, watch_interval=3600, tick_interval=3600, cursor_blink=False
    )


async def desk_read(pilot) -> None:
    """The counter opens its desk and reads it in workers: wait for them before the picture.

    An answer may start the next worker (the desk opened: read it again), hence the rounds.
    """
    for _ in range(4):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def pressing(*keys: str):
    """The desk read, then the clerk presses `keys`; the picture shows the outcome."""

    async def run(pilot) -> None:
        await desk_read(pilot)
        await pilot.press(*keys)
        await desk_read(pilot)

    return run


VIEWS = {
    "desk": pressing(),
    "transfer": pressing("t"),
    "call_number": pressing("c", "a", "2"),
    "visitor_ticket": pressing("i", "down", "enter"),
    "did_the_visitor_come": pressing("n"),  # A001 was called again: "Next" asks first
}


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
def test_counter_with_a_visitor(busy_office, snap_compare, size, view):
    path, clock = busy_office()
    assert snap_compare(counter(path, clock), terminal_size=size, run_before=VIEWS[view])


def test_a_no_show_who_turns_up(busy_office, snap_compare):
    """Calling a number that did not come offers to put it back in line."""
    path, clock = busy_office()
    with Engine(path, clock=clock) as engine:
        engine.no_show("1")  # A001, called twice, never came
    assert snap_compare(
        counter(path, clock), terminal_size=SMALL, run_before=pressing("c", *"A001", "enter")
    )


def test_quit_with_a_visitor_at_the_counter(busy_office, snap_compare):
    path, clock = busy_office()
    assert snap_compare(counter(path, clock), terminal_size=SMALL, run_before=pressing("ctrl+q"))


def test_a_french_office(busy_office, snap_compare):
    path, clock = busy_office(
        default_config_text().replace(
            'languages = ["nl", "fr", "en", "de"]', 'languages = ["fr", "nl", "en", "de"]'
        )
    )
    assert snap_compare(counter(path, clock), terminal_size=SMALL)


def test_a_desk_already_open_on_another_screen(busy_office, snap_compare):
    path, clock = busy_office()
    with Engine(path, clock=clock) as engine:
        engine.open_desk("1", "another-screen")
    assert snap_compare(counter(path, clock), terminal_size=SMALL, run_before=desk_read)


def test_narrow_and_paused(tmp_path, snap_compare):
    clock = Clock()
    path = tmp_path / "loket.db"
    Engine(path, clock=clock).close()
    app = counter(str(path), clock, desk="4")

    async def pause(pilot) -> None:
        await desk_read(pilot)
        await pilot.press("p")
        await desk_read(pilot)

    assert snap_compare(app, terminal_size=(52, 40), run_before=pause)


def test_a_desk_taken_over_on_another_screen(busy_office, snap_compare):
    """Only the message and Ctrl+Q: no buttons that would do nothing."""
    path, clock = busy_office()

    async def taken_over(pilot) -> None:
        await desk_read(pilot)
        with Engine(path, clock=clock) as engine:
            engine.open_desk("1", "a-colleagues-screen", take_over=True)
        pilot.app.tell_presence()  # its next sign of life learns so
        await desk_read(pilot)

    assert snap_compare(counter(path, clock), terminal_size=SMALL, run_before=taken_over)
