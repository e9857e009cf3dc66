"""What the kiosk looks like, screen by screen, with a frozen clock and no blinking cursor.

Run `pytest tests/test_kiosk_snapshots.py --snapshot-update` after a deliberate change of
look, and read the new SVGs (tests/__snapshots__/) before committing them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.app import BUTTON_BOX_SECONDS, KioskApp
from loket.config import default_config_text
from loket.engine import Engine
from loket.imports import Row
from tests.conftest import Clock, clerks_at

LARGE = (240, 67)
"""A full-HD touch screen with a readable terminal font."""


@pytest.fixture
def kiosk(tmp_path):
    """Build a kiosk on a fresh office through one helper with test settings."""
    clock = Clock()

    def make(config: str | None = None, prepare=None, printer: str = "none") -> KioskApp:
        path = tmp_path / "loket.db"
        with Engine(path, clock=clock) as engine:
            if config:
                engine.init(config)
            with engine.store.write():  # a ticket's QR is signed with it: the same each run
                engine.store.set_setting("qr_secret", "snapshot-secret")
            clerks_at(engine, *engine.office.counters)
            if prepare:
                prepare(engine, clock)
        return KioskApp(
            str(path), clock=clock, cursor_blink=False, watch_interval=3600, printer=printer
        )

    return make


async def settle(pilot) -> None:
    """Let the kiosk's database work finish and its result reach the screen."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_start_screen_small(kiosk, snap_compare):
    assert snap_compare(kiosk(), terminal_size=(80, 24))


def test_start_screen_large(kiosk, snap_compare):
    assert snap_compare(kiosk(), terminal_size=LARGE)


def test_start_screen_in_english_with_a_closed_service(kiosk, snap_compare):
    config = default_config_text().replace(
        "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "13:00-16:00" }'
    )

    async def english(pilot):
        await pilot.click("#language-en")

    assert snap_compare(kiosk(config), terminal_size=(100, 32), run_before=english)


def test_office_closed(kiosk, snap_compare):
    config = default_config_text()
    for code in ("minutes = 8\n", "minutes = 10\n"):
        config = config.replace(code, code + 'hours = { wed = "09:00-12:00" }\n', 1)
    config = config.replace("daily_limit = 40", 'daily_limit = 40\nhours = { wed = "09:00-12:00" }')
    assert snap_compare(kiosk(config), terminal_size=(100, 32))


async def button_box_1(pilot):
    await pilot.press("1")
    await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
    await settle(pilot)


async def button_box_2(pilot):
    await pilot.press("2")
    await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
    await settle(pilot)


def test_ticket_screen(kiosk, snap_compare):
    assert snap_compare(kiosk(), terminal_size=(80, 24), run_before=button_box_1)


def test_ticket_screen_large(kiosk, snap_compare):
    assert snap_compare(kiosk(), terminal_size=LARGE, run_before=button_box_2)


WEB_CONFIG = default_config_text().replace(
    'public_url = ""', 'public_url = "https://loket.stad.be"', 1
)
"""The demo office whose tickets carry a QR of the visitor's phone page."""


def test_ticket_screen_with_the_phone_pages_qr(kiosk, snap_compare):
    assert snap_compare(kiosk(WEB_CONFIG), terminal_size=(80, 24), run_before=button_box_1)


def test_ticket_screen_with_the_phone_pages_qr_large(kiosk, snap_compare):
    assert snap_compare(kiosk(WEB_CONFIG), terminal_size=LARGE, run_before=button_box_2)


def test_printer_fault_marked_for_staff(kiosk, snap_compare, tmp_path):
    blocked = tmp_path / "printed"
    blocked.write_text("a file where the printer's folder should be")

    async def ticket_not_printed(pilot):
        await button_box_1(pilot)
        pilot.app.end_visit()
        await settle(pilot)

    app = kiosk(printer=f"file:{blocked}")
    assert snap_compare(app, terminal_size=(80, 24), run_before=ticket_not_printed)


def test_appointment_keypad(kiosk, snap_compare):
    async def open_keypad(pilot):
        await pilot.click("#appointment")

    assert snap_compare(kiosk(), terminal_size=(100, 32), run_before=open_keypad)


OUTCOMES = {
    "accepted": 10,
    "already_checked_in": 10,
    "too_early": 45,
    "too_late": -30,
    "other_day": 60 * 26,
    "cancelled": None,
    "not_recognised": None,
    "already_served": 10,
    "missed": 10,
}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_check_in_result(kiosk, snap_compare, outcome):
    codes = []

    def prepare(engine, clock):
        if outcome == "cancelled":
            engine.import_appointments([Row("line 2", "u1", "B", clock.now, None, True)])
            codes.append(engine.appointments()[0].reference)
        elif outcome == "not_recognised":
            codes.append("ZZZZ-ZZZZ")
        else:
            booking = engine.add_appointment("B", clock.now + timedelta(minutes=OUTCOMES[outcome]))
            codes.append(booking.reference)
            if outcome in ("already_checked_in", "already_served", "missed"):
                engine.check_in(booking.reference)
            if outcome in ("already_served", "missed"):
                engine.call_next("1")
            if outcome == "already_served":
                engine.finish("1")

    async def check_in(pilot):
        pilot.app.check_in(codes[0])
        await settle(pilot)

    assert snap_compare(kiosk(prepare=prepare), terminal_size=(80, 24), run_before=check_in)


SCANNED = {
    "reinstated": ("call_next", "no_show"),
    "still_waiting": (),
    "called_now": ("call_next",),
}
"""What happened to ticket A001 before its visitor scans it at the kiosk."""


@pytest.mark.parametrize("outcome", SCANNED)
def test_scanned_ticket_result(kiosk, snap_compare, outcome):
    codes = []

    def prepare(engine, clock):
        codes.append(engine.issue_ticket("A").code)
        clock.advance(seconds=20)  # the clerks' apps were heard of within the last minute
        engine.issue_ticket("A")
        for action in SCANNED[outcome]:
            getattr(engine, action)("2")

    async def scan(pilot):
        pilot.app.check_in(codes[0])
        await settle(pilot)

    assert snap_compare(kiosk(prepare=prepare), terminal_size=(80, 24), run_before=scan)


def test_appointment_ticket_says_when_it_will_be_called(kiosk, snap_compare):
    codes = []

    def busy(engine, clock):
        for _ in range(6):
            engine.issue_ticket("B")
        codes.append(engine.add_appointment("B", clock.now + timedelta(minutes=25)).reference)

    async def check_in(pilot):
        pilot.app.check_in(codes[0])
        await settle(pilot)

    assert snap_compare(kiosk(prepare=busy), terminal_size=(80, 24), run_before=check_in)


def test_start_screen_with_a_service_full_for_today(kiosk, snap_compare):
    from loket.errors import Refused

    config = default_config_text().replace(
        "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "08:30-09:20", wed = "08:30-12:00" }'
    )

    def fill(engine, clock):
        with pytest.raises(Refused):
            for _ in range(40):
                engine.issue_ticket("C")

    assert snap_compare(kiosk(config, fill), terminal_size=(100, 32))


def test_staff_menu(kiosk, snap_compare):
    async def open_menu(pilot):
        await pilot.press("f12", "f12", "f12", *"2468", "enter")
        await settle(pilot)
        await pilot.press("1")  # priority tickets on

    assert snap_compare(kiosk(), terminal_size=(80, 24), run_before=open_menu)


def test_start_screen_with_priority_tickets_switched_on(kiosk, snap_compare):
    async def switched_on(pilot):
        await pilot.press("f12", "f12", "f12", *"2468", "enter")
        await settle(pilot)
        await pilot.press("1", "escape")
        await settle(pilot)

    assert snap_compare(kiosk(), terminal_size=(80, 24), run_before=switched_on)


def test_late_check_in_refused(kiosk, snap_compare):
    codes = []

    def prepare(engine, clock):
        codes.append(engine.add_appointment("B", clock.now - timedelta(minutes=30)).reference)

    async def check_in(pilot):
        pilot.app.check_in(codes[0])
        await settle(pilot)

    config = default_config_text().replace('late_action = "walk_in"', 'late_action = "refuse"')
    assert snap_compare(kiosk(config, prepare), terminal_size=(80, 24), run_before=check_in)


def test_database_unavailable(tmp_path, snap_compare):
    app = KioskApp(str(tmp_path / "missing" / "loket.db"), clock=Clock(), cursor_blink=False)
    assert snap_compare(app, terminal_size=(80, 24))
