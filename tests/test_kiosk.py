"""The kiosk as visitors use it: touch, number keys, a USB scanner, and staff closing it."""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest

from kiosk.app import BUTTON_BOX_SECONDS, KioskApp
from kiosk.notice import NoticeScreen, UnavailableScreen, WaitingScreen
from kiosk.start import StartScreen
from kiosk.ticket import TicketScreen
from loket import texts
from loket.config import default_config_text
from loket.engine import Engine
from loket.errors import StorageError
from tests.conftest import clerks_at

SIZE = (100, 32)
PRIORITY_ON = default_config_text().replace("priority = false", "priority = true", 1)
"""The demo office with priority tickets offered from the start."""


def screen_text(app) -> str:
    """Everything the current screen shows, as one string."""
    return "\n".join(str(widget.render()) for widget in app.screen.query("Static, Button"))


def shown_lines(app) -> list[str]:
    """The screen as the visitor sees it, line by line: what overflowed a widget is not there."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def settle(pilot) -> None:
    """Let the kiosk's database work finish and its result reach the screen."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def button_box(pilot, key: str) -> None:
    """A button-box key: a lone digit, which the kiosk takes once no other key follows."""
    await pilot.press(key)
    await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
    await settle(pilot)


@pytest.fixture
def make_kiosk(db_path, clock):
    """A kiosk on a fresh demo office, a clerk at every counter; `config` replaces the office first."""

    def make(config: str | None = None, **kwargs) -> KioskApp:
        with Engine(db_path, clock=clock) as engine:
            if config:
                engine.init(config)
            clerks_at(engine, *engine.office.counters)
        return KioskApp(str(db_path), clock=clock, cursor_blink=False, **kwargs)

    return make


@pytest.fixture
def office(db_path, clock):
    """The same office, as staff or a booking system use it beside the kiosk."""
    with Engine(db_path, clock=clock) as engine:
        yield engine


async def test_start_screen_offers_every_walk_in_service_with_its_wait(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE):
        assert isinstance(app.screen, StartScreen)
        text = screen_text(app)
        assert "Stadhuis Demo" in text and "Ik heb een afspraak" in text
        assert "1  Identiteitskaart en paspoort\nGeen wachttijd" in text  # a counter is free
        assert "Bouwen en wonen" not in text  # appointments only: no walk-in button
        assert not app.screen.query("#priority")  # staff have not switched priority on


async def test_a_tap_on_a_service_shows_the_ticket(make_kiosk, office):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#service-B")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        text = screen_text(app)
        assert "Verhuizing en adres" in text and "Plaats in de rij: 1" in text
        assert "U wordt zo meteen afgeroepen" in text  # never "0 min"
        assert "dinsdag 1 december om 09:00" in text
        assert app.screen.query_one("#number").text == "B001"
    assert [t.number for t in office.store.all_tickets()] == ["B001"]


async def test_a_button_box_key_takes_the_numbered_service(make_kiosk, office):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "3")
        assert app.screen.query_one("#number").text == "C001"


async def test_a_visitor_switches_to_french_and_gets_a_french_ticket(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#language-fr")
        await settle(pilot)
        assert "Carte d'identité et passeport" in screen_text(app)
        await pilot.click("#service-A")
        await settle(pilot)
        assert "mardi 1er décembre à 09:00" in screen_text(app)


async def test_priority_is_one_extra_tap_and_only_for_the_next_ticket(make_kiosk, office):
    app = make_kiosk(PRIORITY_ON)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#priority")
        await pilot.click("#service-A")
        await settle(pilot)
        assert "Voorrangsticket" in screen_text(app)
        app.back_to_start()
        await settle(pilot)
        await pilot.click("#service-A")
    assert [(t.number, t.priority) for t in office.store.all_tickets()] == [
        ("A001", True),
        ("A002", False),
    ]


async def test_a_closed_service_says_when_it_opens_and_issues_nothing(make_kiosk, office):
    config = default_config_text().replace(
        "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "13:00-16:00" }'
    )
    app = make_kiosk(config)
    async with app.run_test(size=SIZE) as pilot:
        assert "Gesloten · opent vandaag om 13:00" in screen_text(app)
        await pilot.click("#service-C")
        await settle(pilot)
        assert isinstance(app.screen, NoticeScreen)
        assert "13:00" in screen_text(app)
    assert office.store.all_tickets() == []


async def test_a_service_at_its_daily_limit_says_so(make_kiosk, office):
    for _ in range(40):
        office.issue_ticket("C")
    app = make_kiosk()
    async with app.run_test(size=SIZE):
        assert "3  Burgerlijke stand\nGeen tickets meer vandaag" in screen_text(app)


async def test_when_every_service_is_closed_the_whole_screen_says_the_office_is_closed(make_kiosk):
    config = default_config_text()
    for code in ("minutes = 8\n", "minutes = 10\n"):
        config = config.replace(code, code + 'hours = { wed = "09:00-12:00" }\n', 1)
    config = config.replace("daily_limit = 40", 'daily_limit = 40\nhours = { wed = "09:00-12:00" }')
    app = make_kiosk(config)
    async with app.run_test(size=SIZE):
        text = screen_text(app)
        assert "Wij zijn gesloten." in text and "Wij openen morgen om 09:00." in text
        assert not app.screen.query("#service-A")
        assert app.screen.query("#appointment")  # appointment holders may still check in


async def test_the_start_screen_follows_tickets_taken_elsewhere(make_kiosk, office):
    app = make_kiosk(watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            office.issue_ticket("A")  # another kiosk, another process
        await pilot.pause(0.3)
        assert "Ongeveer 15 min wachten" in screen_text(app)  # 5 ahead * 8 min / 3 counters


async def test_changes_elsewhere_never_break_the_start_screen_while_it_starts_or_closes(
    make_kiosk, office
):
    for _ in range(3):
        app = make_kiosk(watch_interval=0.0005)  # it looks for changes all the time
        office.issue_ticket("A")  # while its start screen is still being built
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.05)
            office.issue_ticket("A")  # and while it closes
        # run_test raises here what the app's timer raised (NoMatches, no screens on stack)


# appointment holders


async def scan(pilot, text: str) -> None:
    """A USB scanner: the payload typed key by key, then Enter, from whatever screen is up."""
    await pilot.press(*text, "enter")
    await settle(pilot)


async def scan_at_full_speed(pilot, text: str) -> None:
    """A real scanner: every key queued before the kiosk has handled the first (tmux does too)."""
    from textual import events

    for character in text:
        pilot.app._driver.send_message(events.Key(character, character))
    pilot.app._driver.send_message(events.Key("enter", "\r"))
    await settle(pilot)


async def type_on_keypad(pilot, reference: str) -> None:
    """A visitor taps the reference on the kiosk's keypad and taps Check in."""
    await pilot.click("#appointment")
    for character in reference.replace("-", ""):
        await pilot.click(f"#key-{character}")
    await pilot.click("#check-in")
    await settle(pilot)


def booked(office, clock, minutes: int, service: str = "B"):
    return office.add_appointment(service, clock.now + timedelta(minutes=minutes))


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize(
    ("minutes", "key", "fields"),
    [
        (10, "checkin_accepted", {"time": "09:10"}),
        (45, "checkin_too_early", {"time": "09:15"}),
        (-30, "checkin_too_late_ticket", {"time": "08:30"}),
        (60 * 26, "checkin_other_day", {"day": "DAY"}),
    ],
)
async def test_every_check_in_outcome_has_its_own_message(
    make_kiosk, office, clock, language, minutes, key, fields
):
    from datetime import date

    booking = booked(office, clock, minutes)
    fields = {
        k: texts.day_text(language, date(2026, 12, 2)) if v == "DAY" else v
        for k, v in fields.items()
    }
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click(f"#language-{language}")
        await type_on_keypad(pilot, booking.display_reference)
        assert texts.text(language, key, **fields) in screen_text(app)


async def test_a_scanned_qr_payload_checks_in_from_the_start_screen(make_kiosk, office, clock):
    booking = booked(office, clock, 5)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, booking.qr_payload)
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.query_one("#number").text == "R001"
        assert "Welkom. Uw afspraak is om 09:05." in screen_text(app)


async def test_a_scan_while_a_ticket_is_shown_still_checks_in(make_kiosk, office, clock):
    booking = booked(office, clock, 5)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        await scan(pilot, booking.qr_payload)
        assert app.screen.query_one("#number").text == "R001"


async def test_checking_in_twice_shows_the_same_ticket(make_kiosk, office, clock):
    booking = booked(office, clock, 5)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, booking.qr_payload)
        app.back_to_start()
        await scan(pilot, booking.qr_payload)
        assert texts.text("nl", "checkin_already") in screen_text(app)
        assert app.screen.query_one("#number").text == "R001"
    assert len(office.store.all_tickets()) == 1


async def test_a_late_visitor_gets_a_walk_in_ticket_instead(make_kiosk, office, clock):
    booking = booked(office, clock, -30)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, booking.qr_payload)
        assert texts.text("nl", "checkin_too_late_ticket", time="08:30") in screen_text(app)
        assert app.screen.query_one("#number").text == "B001"
    assert office.store.all_tickets()[0].kind == "walk_in"


async def test_a_late_visitor_is_sent_to_the_desk_when_the_office_refuses_late_check_in(
    make_kiosk, office, clock
):
    app = make_kiosk(
        default_config_text().replace('late_action = "walk_in"', 'late_action = "refuse"')
    )
    booking = booked(office, clock, -30)
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, booking.qr_payload)
        assert isinstance(app.screen, NoticeScreen)
        assert texts.text("nl", "checkin_too_late_refused", time="08:30") in screen_text(app)
    assert office.store.all_tickets() == []


async def test_a_cancelled_appointment_is_refused(make_kiosk, office, clock):
    from loket.imports import Row

    office.import_appointments([Row("line 2", "u1", "A", clock.now, None, True)])
    (booking,) = office.appointments()
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#language-en")
        await scan(pilot, booking.qr_payload)
        assert texts.text("en", "checkin_cancelled") in screen_text(app)


async def test_a_forged_code_gets_one_neutral_message_and_no_ticket(make_kiosk, office, clock):
    booking = booked(office, clock, 5)
    forged = booking.qr_payload[:-2] + ("AB" if not booking.qr_payload.endswith("AB") else "CD")
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, forged)
        assert texts.text("nl", "checkin_not_recognised") in screen_text(app)
    assert office.store.all_tickets() == []


async def test_a_reference_typed_on_a_physical_keyboard_works_too(make_kiosk, office, clock):
    booking = booked(office, clock, 5)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        await pilot.press(*booking.display_reference.lower(), "enter")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"


async def test_the_qr_we_draw_decodes_and_checks_in_when_scanned(
    make_kiosk, office, clock, tmp_path
):
    import zxingcpp
    from PIL import Image

    from loket import qr

    booking = booked(office, clock, 5)
    png = tmp_path / "confirmation.png"
    qr.write_png(booking.qr_payload, str(png))
    (decoded,) = zxingcpp.read_barcodes(Image.open(png))
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, decoded.text)
        assert app.screen.query_one("#number").text == "R001"


async def test_the_ticket_qr_on_screen_scanned_back_says_you_are_still_in_line(
    make_kiosk, office, tmp_path
):
    import zxingcpp

    out = tmp_path / "printed"
    app = make_kiosk(printer=f"file:{out}")
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        drawn = str(app.screen.query_one("#qr").render())
        (decoded,) = zxingcpp.read_barcodes(text_qr_to_image(drawn))
        assert decoded.text == app.screen.receipt.code
        assert decoded.text.startswith("LT20261201A001")  # the day and number, then a signature
        office.issue_ticket("A")  # A002 comes after it
        app.end_visit()
        await scan(pilot, decoded.text)
        assert isinstance(app.screen, TicketScreen)
        text = screen_text(app)
        assert "U staat nog in de rij." in text and "Plaats in de rij: 1" in text
        assert texts.text("nl", "watch_screen") in text  # the paper is in their hand
        assert app.screen.query_one("#number").text == "A001"
        await app.workers.wait_for_complete()
    assert len(list(out.glob("*.bin"))) == 1  # printed once, not again for the scan
    assert [t.number for t in office.store.all_tickets()] == ["A001", "A002"]


def text_qr_to_image(drawn: str, scale: int = 6):
    """Rasterise half-block text (▀ ▄ █) into a black-on-white image, as a camera would see it."""
    from PIL import Image

    rows = [line for line in drawn.split("\n") if line.strip() or line]
    width = max(len(line) for line in rows)
    image = Image.new("L", (width * scale, len(rows) * 2 * scale), 255)
    for y, line in enumerate(rows):
        for x, char in enumerate(line):
            top, bottom = char in "▀█", char in "▄█"
            for half, dark in ((0, top), (1, bottom)):
                if dark:
                    box = (
                        x * scale,
                        (2 * y + half) * scale,
                        (x + 1) * scale,
                        (2 * y + half + 1) * scale,
                    )
                    image.paste(0, box)
    return image


# a visitor scanning their own ticket ("I'm here")


def decoded_paper(folder, number: str) -> str:
    """What a scanner reads from the printed ticket: the QR of its PNG preview, decoded."""
    import zxingcpp
    from PIL import Image, ImageOps

    (png,) = sorted(folder.glob(f"{number}-*.png"))[:1]
    framed = ImageOps.expand(Image.open(png).convert("L"), border=40, fill=255)
    (decoded,) = zxingcpp.read_barcodes(framed)
    return decoded.text


async def test_a_visitor_missed_while_away_scans_the_paper_ticket_and_is_back_in_line(
    make_kiosk, office, clock, tmp_path
):
    out = tmp_path / "printed"
    app = make_kiosk(printer=f"file:{out}")
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        await app.workers.wait_for_complete()
        app.end_visit()
        for _ in range(4):
            clock.advance(minutes=1)
            office.issue_ticket("A")  # A002..A005 wait behind A001
        office.call_next("1")
        office.no_show("1")  # A001 was in the toilet
        await scan(pilot, decoded_paper(out, "A001"))
        assert isinstance(app.screen, TicketScreen)
        text = screen_text(app)
        assert "Welkom terug: u staat opnieuw in de rij." in text
        assert "Plaats in de rij: 4" in text  # behind the first 3 waiting (`[no_show] places`)
        assert app.screen.query_one("#number").text == "A001"
        await app.workers.wait_for_complete()
    assert len(list(out.glob("A001-*.bin"))) == 2  # printed again, with its new place
    (ticket,) = [t for t in office.store.all_tickets() if t.number == "A001"]
    assert (ticket.status, ticket.reinstated) == ("waiting", 1)


def missed_twice(office, code):
    """The visitor came back once and was away again when called: the office takes them once."""
    office.call_next("1")
    office.no_show("1")
    office.check_in(code)
    office.call_next("1")
    office.no_show("1")


def served(office, code):
    office.call_next("1")
    office.finish("1")


def called_at_3(office, code):
    office.call_next("3")  # counter 3 serves B


def next_day(office, code):
    office.clock.advance(days=1)


@pytest.mark.parametrize(
    ("happened", "key", "fields"),
    [
        (called_at_3, "checkin_called_now", {"ticket": "B001", "counter": "Loket 3"}),
        (served, "checkin_served", {"ticket": "B001"}),
        (missed_twice, "ticket_missed", {"ticket": "B001"}),
        (next_day, "ticket_other_day", {"day": "DAY"}),
    ],
    ids=["called now", "served", "missed", "other day"],
)
@pytest.mark.parametrize("language", ["nl", "fr", "en", "de"])
async def test_a_scanned_ticket_no_longer_waiting_gets_its_own_message_and_nothing_printed(
    make_kiosk, office, tmp_path, happened, key, fields, language
):
    from datetime import date

    receipt = office.issue_ticket("B")
    happened(office, receipt.code)
    fields = {
        k: texts.day_text(language, date(2026, 12, 1)) if v == "DAY" else v
        for k, v in fields.items()
    }
    out = tmp_path / "printed"
    app = make_kiosk(printer=f"file:{out}")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click(f"#language-{language}")
        before = [(t.number, t.status, t.reinstated) for t in office.store.all_tickets()]
        await scan(pilot, receipt.code)
        assert isinstance(app.screen, NoticeScreen)
        assert texts.text(language, key, **fields) in screen_text(app)
        await app.workers.wait_for_complete()
    assert not out.exists() or not list(out.glob("*.bin"))
    assert [(t.number, t.status, t.reinstated) for t in office.store.all_tickets()] == before


@pytest.mark.parametrize("case", ["forged", "not in this database"])
async def test_a_forged_or_unknown_ticket_code_is_not_recognised_and_changes_nothing(
    make_kiosk, office, case
):
    from dataclasses import replace

    from loket import codes

    receipt = office.issue_ticket("A")
    office.call_next("1")
    office.no_show("1")
    if case == "forged":
        tag = receipt.code[-4:]
        code = receipt.code[:-4] + ("AAAA" if tag != "AAAA" else "BBBB")
    else:  # signed with this office's key, but no such ticket (e.g. a restored database)
        ghost = replace(receipt.ticket, number="A099")
        code = codes.ticket_payload(office.store.setting("qr_secret"), ghost)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await scan(pilot, code)
        assert isinstance(app.screen, NoticeScreen)  # never "one moment"
        assert texts.text("nl", "checkin_not_recognised") in screen_text(app)
    (ticket,) = office.store.all_tickets()
    assert (ticket.status, ticket.reinstated) == ("no_show", 0)


# lock-down and staff


@pytest.mark.parametrize(
    "keys", [["ctrl+q"], ["ctrl+c"], ["ctrl+p"], ["escape"], ["f1"], ["ctrl+backslash"]]
)
async def test_no_key_lets_a_visitor_quit_or_open_a_menu(make_kiosk, keys):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, StartScreen)


async def staff_menu(pilot) -> None:
    """Staff press the key sequence and type the PIN."""
    await pilot.press("f12", "f12", "f12")
    await settle(pilot)
    assert texts.text("nl", "staff_pin") in screen_text(pilot.app)
    await pilot.press(*"2468", "enter")
    await settle(pilot)


async def test_staff_close_it_with_the_key_sequence_the_pin_and_the_menu(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await staff_menu(pilot)
        assert app.is_running
        assert "2  De ticketautomaat sluiten" in screen_text(app)
        await pilot.press("2")
        await settle(pilot)
    assert app.return_code == 0 and not app.is_running


async def test_staff_switch_priority_tickets_on_and_off_until_the_kiosk_restarts(
    make_kiosk, office
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        assert not app.screen.query("#priority")
        await staff_menu(pilot)
        assert "1  Voorrangstickets staan uit · aanzetten" in screen_text(app)
        await pilot.press("1")  # keys, as on a keyboard
        assert "1  Voorrangstickets staan aan · uitzetten" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        await pilot.click("#priority")
        await pilot.click("#service-A")
        await settle(pilot)
        assert "Voorrangsticket" in screen_text(app)
        app.end_visit()
        await settle(pilot)
        await staff_menu(pilot)
        await pilot.click("#staff-priority")  # touch, as on the kiosk's screen
        await pilot.click("#staff-back")
        await settle(pilot)
        assert isinstance(app.screen, StartScreen) and not app.screen.query("#priority")
    assert [(t.number, t.priority) for t in office.store.all_tickets()] == [("A001", True)]
    async with make_kiosk().run_test(size=SIZE) as pilot:
        await staff_menu(pilot)
        assert "Voorrangstickets staan uit" in screen_text(pilot.app)  # the config's default


async def test_a_priority_tap_before_staff_switch_priority_off_gives_an_ordinary_ticket(
    make_kiosk, office
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await staff_menu(pilot)
        await pilot.press("1", "escape")  # on
        await settle(pilot)
        await pilot.click("#priority")  # a visitor asks for priority...
        await staff_menu(pilot)
        await pilot.press("1", "escape")  # ...and staff switch it off before the tap
        await settle(pilot)
        await pilot.click("#service-A")
        await settle(pilot)
    assert [(t.number, t.priority) for t in office.store.all_tickets()] == [("A001", False)]


async def test_staff_read_their_menu_in_the_offices_language_whatever_the_visitor_chose(
    make_kiosk,
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#language-fr")
        await settle(pilot)
        await staff_menu(pilot)  # asserts the Dutch PIN prompt
        assert "2  De ticketautomaat sluiten" in screen_text(app)


async def test_the_staff_menu_left_open_goes_back_to_the_visitors_when_idle(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await staff_menu(pilot)
        app.went_idle()  # what `idle_seconds` without a touch does
        await settle(pilot)
        assert isinstance(app.screen, StartScreen) and app.is_running


async def test_a_wrong_pin_goes_back_to_the_visitors(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f12", "f12", "f12", *"1111", "enter")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, StartScreen)


async def test_the_ticket_goes_away_by_itself_after_the_return_delay(make_kiosk):
    config = default_config_text().replace("return_seconds = 10", "return_seconds = 2")
    app = make_kiosk(config)
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        assert isinstance(app.screen, TicketScreen)
        await pilot.pause(2.3)
        assert isinstance(app.screen, StartScreen)


async def test_after_idle_seconds_the_kiosk_returns_to_the_start_in_the_default_language(
    make_kiosk,
):
    # Long enough for a loaded machine to start the kiosk and make both clicks first.
    config = default_config_text().replace("idle_seconds = 30", "idle_seconds = 10")
    app = make_kiosk(config)
    # Pilot's clicks bypass App.on_event, so the countdown runs from the start (a real
    # touch restarts it): it begins after this moment.
    started = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#language-de")
        await settle(pilot)
        await pilot.click("#appointment")
        await settle(pilot)
        assert app.language == "de" and not isinstance(app.screen, StartScreen)
        # Waited for, not timed: a loaded machine may be late, never early.
        while not isinstance(app.screen, StartScreen) and time.monotonic() - started < 40:
            await pilot.pause(0.1)
        assert time.monotonic() - started >= 10
        assert app.language == "nl" and isinstance(app.screen, StartScreen)
        assert "Ik heb een afspraak" in screen_text(app)


# when things go wrong


async def test_a_database_that_is_not_there_yet_shows_one_moment_and_recovers(tmp_path, clock):
    folder = tmp_path / "share"
    app = KioskApp(str(folder / "loket.db"), clock=clock, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, UnavailableScreen)
        assert texts.text("fr", "unavailable") in screen_text(app)
        folder.mkdir()
        await pilot.pause(3.5)
        assert isinstance(app.screen, UnavailableScreen)  # a kiosk never creates an office
        assert not (folder / "loket.db").exists()
        Engine(folder / "loket.db", clock=clock).close()  # `loket init` by staff
        await pilot.pause(3.5)
        assert isinstance(app.screen, StartScreen)
        await button_box(pilot, "1")
        assert app.screen.query_one("#number").text == "A001"


async def test_a_database_moved_away_and_back_loses_nothing(make_kiosk, office, db_path):
    office.issue_ticket("A")
    app = make_kiosk(watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        away = db_path.with_name("away.db")
        db_path.rename(away)
        await pilot.pause(3.5)
        assert isinstance(app.screen, UnavailableScreen)
        assert not db_path.exists()  # no empty demo office in its place
        away.rename(db_path)
        await pilot.pause(3.5)
        await button_box(pilot, "1")
        assert app.screen.query_one("#number").text == "A002"


async def test_a_database_failure_mid_ticket_shows_one_moment_not_a_traceback(
    make_kiosk, monkeypatch
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:

        def broken(*args, **kwargs):
            raise StorageError("the database is busy")

        monkeypatch.setattr(Engine, "issue_ticket", broken)
        await button_box(pilot, "1")
        assert isinstance(app.screen, UnavailableScreen)
        monkeypatch.undo()
        await pilot.pause(3.5)
        # The tap is asked again, with its request key, once the database answers.
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.query_one("#number").text == "A001"


async def test_each_ticket_is_printed_once_on_the_thermal_printer(make_kiosk, tmp_path):
    out = tmp_path / "printed"
    app = make_kiosk(printer=f"file:{out}")
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        await app.workers.wait_for_complete()
        assert texts.text("nl", "take_ticket") in screen_text(app)
    (printed,) = sorted(out.glob("*.bin"))
    data = printed.read_bytes()
    assert data.startswith(b"\x1b@") and b"A001" in data and b"Stadhuis Demo" in data
    assert printed.name.startswith("A001-") and printed.with_suffix(".png").exists()


async def test_a_printer_fault_keeps_the_ticket_on_screen_and_issues_no_second_one(
    make_kiosk, office, caplog
):
    app = make_kiosk(printer="network:127.0.0.1:9")  # nothing listens on the discard port here
    with caplog.at_level("ERROR", logger="loket.kiosk"):
        async with app.run_test(size=SIZE) as pilot:
            await button_box(pilot, "1")
            await app.workers.wait_for_complete()
            await settle(pilot)
            assert isinstance(app.screen, TicketScreen)
            assert texts.text("nl", "note_number") in screen_text(app)
            assert app.screen.query_one("#number").text == "A001"
    assert [t.number for t in office.store.all_tickets()] == ["A001"]
    assert "printer fault, ticket A001 shown on screen only" in caplog.text


async def test_a_database_file_replaced_under_the_kiosk_is_noticed_and_reopened(
    make_kiosk, db_path, clock
):
    app = make_kiosk(watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        app.back_to_start()
        moved = db_path.with_name("old.db")
        db_path.rename(moved)
        await pilot.pause(0.3)
        assert isinstance(app.screen, UnavailableScreen)  # not issuing into a file nobody sees
        with Engine(db_path, clock=clock) as fresh:
            fresh.issue_ticket("A")
        await pilot.pause(3.5)
        assert isinstance(app.screen, StartScreen)
        await button_box(pilot, "1")
        assert app.screen.query_one("#number").text == "A002"


async def test_the_start_screen_shows_the_longer_wait_after_its_own_tickets(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await button_box(pilot, "1")
            app.end_visit()
            await settle(pilot)
        assert "1  Identiteitskaart en paspoort\nOngeveer 10 min wachten" in screen_text(
            app
        )  # 3 ahead * 8 min / 3 counters = 8, promised to the nearest 5


async def test_the_next_visitor_starts_fresh_without_priority_or_the_last_language(make_kiosk):
    config = PRIORITY_ON.replace("return_seconds = 10", "return_seconds = 2")
    app = make_kiosk(config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#language-fr")
        await pilot.click("#appointment")
        app.end_visit()
        await settle(pilot)
        await pilot.click("#priority")
        assert app.screen.priority
        app.went_idle()
        await settle(pilot)
        assert app.language == "nl" and not app.screen.priority
        await button_box(pilot, "2")
        await pilot.pause(2.3)
        assert isinstance(app.screen, StartScreen) and app.language == "nl"


async def test_a_reference_typed_on_the_start_screen_is_not_taken_for_a_button_box_key(
    make_kiosk, office, clock
):
    booking = booked(office, clock, 5)
    reference = (
        "3" + booking.reference[1:]
    )  # a reference may start with a digit that is a service key
    office.store.conn.execute(
        "UPDATE appointments SET reference = ? WHERE id = ?", (reference, booking.id)
    )
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*reference.lower(), "enter")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"
    assert [t.kind for t in office.store.all_tickets()] == ["appointment"]


async def test_a_new_office_config_reaches_the_kiosk_without_a_restart(make_kiosk, office):
    app = make_kiosk(watch_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        changed = default_config_text().replace("walk_in = false ", "walk_in = true ")
        assert changed != default_config_text()
        office.init(changed)  # D now takes walk-ins too
        await pilot.pause(0.4)
        assert "4  Bouwen en wonen" in screen_text(app)
        await button_box(pilot, "4")
        assert app.screen.query_one("#number").text == "D001"


@pytest.mark.parametrize("language", ["nl", "fr"])
@pytest.mark.parametrize(
    ("handled", "key"), [("finish", "checkin_served"), ("no_show", "checkin_missed")]
)
async def test_a_visitor_scanning_again_after_the_visit_gets_no_place_in_line(
    make_kiosk, office, clock, tmp_path, language, handled, key
):
    booking = booked(office, clock, 5)
    office.check_in(booking.qr_payload)
    office.call_next("1")
    getattr(office, handled)("1")
    out = tmp_path / "printed"
    app = make_kiosk(printer=f"file:{out}")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click(f"#language-{language}")
        await scan(pilot, booking.qr_payload)
        assert isinstance(app.screen, NoticeScreen)
        assert texts.text(language, key, ticket="R001") in screen_text(app)
        await app.workers.wait_for_complete()
    assert not out.exists() or not list(out.glob("*.bin"))  # nothing printed
    assert len(office.store.all_tickets()) == 1


async def test_a_visitor_at_a_counter_scanning_again_is_sent_to_the_desk(make_kiosk, office, clock):
    booking = booked(office, clock, 5)
    office.check_in(booking.qr_payload)
    office.call_next("1")
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#language-en")
        await scan(pilot, booking.qr_payload)
        assert texts.text("en", "checkin_missed", ticket="R001") in screen_text(app)


def booked_with_reference(office, clock, first: str):
    """A booking whose reference starts with `first`, e.g. a digit that is also a service key."""
    booking = booked(office, clock, 5)
    reference = first + booking.reference[1:]
    office.store.conn.execute(
        "UPDATE appointments SET reference = ? WHERE id = ?", (reference, booking.id)
    )
    return reference


async def test_a_reference_typed_at_human_speed_after_a_digit_issues_no_walk_in_ticket(
    make_kiosk, office, clock
):
    reference = booked_with_reference(office, clock, "2")
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause(0.6)  # a person looks for the next key
        assert app.screen.query_one("#service-B").has_class("pressed")  # the key was seen
        for character in reference[1:].lower():
            await pilot.press(character)
            await pilot.pause(0.25)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"
        assert texts.text("nl", "checkin_accepted", time="09:05") in screen_text(app)
    assert [t.kind for t in office.store.all_tickets()] == ["appointment"]


async def test_a_lone_digit_takes_its_service_after_a_short_wait_and_shows_it_was_pressed(
    make_kiosk, office
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause(0.2)
        assert isinstance(app.screen, StartScreen)
        assert app.screen.query_one("#service-B").has_class("pressed")
        await pilot.pause(BUTTON_BOX_SECONDS)
        await settle(pilot)
        assert app.screen.query_one("#number").text == "B001"
        app.back_to_start()
        await settle(pilot)
        assert not app.screen.query_one("#service-B").has_class("pressed")


async def test_a_digit_and_enter_is_a_button_box_press_at_once(make_kiosk, office):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "enter")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "C001"
    assert [t.number for t in office.store.all_tickets()] == ["C001"]


async def test_the_clock_is_shown_at_once_after_a_language_switch(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        for language in ("fr", "en", "nl"):
            await pilot.click(f"#language-{language}")
            await settle(pilot)
            assert str(app.screen.query_one("#clock").render()) == "09:00", language


@contextmanager
def write_lock_held(db_path):
    """Another program (a backup tool, an integrator's script) holds the write lock."""
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.rollback()
        other.close()


async def test_a_locked_database_shows_one_moment_and_then_the_one_ticket_tapped(
    make_kiosk, office, db_path
):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        with write_lock_held(db_path):
            await pilot.click("#service-A")
            await pilot.click("#service-A")  # an impatient second tap
            await pilot.pause(1.0)
            assert isinstance(app.screen, WaitingScreen)  # calm, not frozen
            assert texts.text("fr", "unavailable") in screen_text(app)
            await pilot.click()  # more taps, and the button box, while it waits
            await pilot.press("2")
            await pilot.pause(BUTTON_BOX_SECONDS + 0.2)
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.query_one("#number").text == "A001"
    assert [t.number for t in office.store.all_tickets()] == ["A001"]


async def test_a_scan_while_the_database_is_locked_checks_in_once_the_lock_is_gone(
    make_kiosk, office, clock, db_path
):
    booking = booked(office, clock, 5)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        with write_lock_held(db_path):
            await pilot.press(*booking.qr_payload, "enter")
            await pilot.pause(1.0)
            assert isinstance(app.screen, WaitingScreen)
            await pilot.press(*booking.qr_payload, "enter")  # scanned again, impatiently
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"
        assert texts.text("nl", "checkin_accepted", time="09:05") in screen_text(app)
    assert len(office.store.all_tickets()) == 1


async def test_a_fault_in_an_operation_never_leaves_the_kiosk_stuck(
    make_kiosk, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(Engine, "issue_ticket", broken)
        await pilot.click("#service-A")
        await settle(pilot)
        assert isinstance(app.screen, UnavailableScreen)  # one moment, no traceback
        assert "kiosk operation failed" in caplog.text  # logged as a bug, with its traceback
        assert "database unavailable" not in caplog.text
        monkeypatch.undo()
        await pilot.pause(3.5)
        await pilot.click("#service-A")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "A001"


async def test_a_ticket_closes_its_engine_without_a_disk_sync(make_kiosk, request):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        closed = request.getfixturevalue("engine_closes")  # from here on, not at start-up
        await pilot.click("#service-A")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "A001"
        assert closed == [False]  # the long-lived engine checkpoints, when the kiosk closes


# what the visitor types, as it is shown


async def test_a_reference_typed_on_a_keyboard_is_shown_in_capitals_with_its_dash(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        field = app.screen.query_one("#reference")
        shown = []
        for key in "7kqm3xtb":
            await pilot.press(key)
            shown.append(field.value)
        assert shown == [
            "7",
            "7K",
            "7KQ",
            "7KQM",
            "7KQM-3",
            "7KQM-3X",
            "7KQM-3XT",
            "7KQM-3XTB",
        ]
        await pilot.pause()
        assert "7KQM-3XTB" in "\n".join(shown_lines(app))
        await pilot.press("backspace", "backspace", "backspace")
        assert field.value == "7KQM-3"
        await pilot.press("backspace")
        assert field.value == "7KQM"  # no dash left behind to erase
        await pilot.press("left", "left", "a")  # typed in the middle: the cursor stays after it
        assert (field.value, field.cursor_position) == ("7KAQ-M", 3)


async def test_a_reference_tapped_on_the_keypad_gets_its_dash_and_erases_cleanly(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        field = app.screen.query_one("#reference")
        for character in "7KQM3":
            await pilot.click(f"#key-{character}")
        assert field.value == "7KQM-3"
        await pilot.click("#erase")
        assert field.value == "7KQM"
        await pilot.click("#erase")
        assert field.value == "7KQ"


async def test_a_reference_typed_in_lower_case_checks_in_from_the_keypad_screen(
    make_kiosk, office, clock
):
    booking = booked(office, clock, 5)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        await pilot.press(*booking.reference.lower(), "enter")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"


async def test_a_payload_scanned_into_the_reference_field_is_left_as_scanned(
    make_kiosk, office, clock
):
    booking = booked(office, clock, 5)
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        await pilot.press(*booking.qr_payload)
        assert app.screen.query_one("#reference").value == booking.qr_payload
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"


def test_a_booking_number_that_looks_like_a_reference_is_checked_as_typed():
    from kiosk.appointment import code_to_check, reference_as_typed

    assert reference_as_typed("234567") == "2345-67"
    assert code_to_check("2345-67") == "234567"  # the dash was the field's, not the visitor's
    assert reference_as_typed("bk-2026-0042") == "bk-2026-0042"  # not a reference: as typed
    assert code_to_check(" bk-2026-0042 ") == "bk-2026-0042"


# the printer, for staff


async def take_ticket_and_return(pilot) -> None:
    await button_box(pilot, "1")
    await pilot.app.workers.wait_for_complete()
    await settle(pilot)
    pilot.app.end_visit()
    await settle(pilot)


async def test_a_printer_fault_shows_staff_a_mark_and_the_status_until_a_ticket_prints(
    make_kiosk, office, tmp_path
):
    printer_folder = tmp_path / "printed"
    printer_folder.write_text("a file where the printer's folder should be")
    app = make_kiosk(printer=f"file:{printer_folder}", kiosk_name="entrance")
    mark = texts.text("nl", "printer_fault")
    async with app.run_test(size=SIZE) as pilot:
        assert mark not in "\n".join(shown_lines(app))
        await button_box(pilot, "1")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert texts.text("nl", "note_number") in screen_text(app)  # the visitor's part
        app.end_visit()
        await settle(pilot)
        await pilot.click("#language-fr")  # staff read it in the office's language
        assert mark in "\n".join(shown_lines(app))
        (problem,) = office.status().problems
        assert problem.device == "kiosk entrance: printer"
        assert str(printer_folder) in problem.problem

        printer_folder.unlink()  # staff fixed the printer
        await take_ticket_and_return(pilot)
        assert mark not in "\n".join(shown_lines(app))
        assert office.status().problems == []
    assert len(list(printer_folder.glob("*.bin"))) == 1


async def test_a_printer_that_keeps_failing_is_reported_once(make_kiosk, office, tmp_path):
    app = make_kiosk(printer="network:127.0.0.1:9")  # nothing listens on the discard port here
    async with app.run_test(size=SIZE) as pilot:
        await take_ticket_and_return(pilot)
        await take_ticket_and_return(pilot)
        assert texts.text("nl", "printer_fault") in "\n".join(shown_lines(app))
    assert len(office.status().problems) == 1
    reports = office.events_after(0, actions=["problem"])
    assert len(reports) == 1


async def test_one_kiosk_printing_fine_leaves_another_kiosks_fault_listed(
    make_kiosk, office, tmp_path
):
    broken = tmp_path / "broken"
    broken.write_text("a file where the printer's folder should be")
    entrance = make_kiosk(printer=f"file:{broken}", kiosk_name="entrance")
    async with entrance.run_test(size=SIZE) as pilot:
        await take_ticket_and_return(pilot)
    upstairs = make_kiosk(printer=f"file:{tmp_path}", kiosk_name="upstairs")
    async with upstairs.run_test(size=SIZE) as pilot:
        await take_ticket_and_return(pilot)
        assert texts.text("nl", "printer_fault") not in "\n".join(shown_lines(upstairs))
    assert len(list(tmp_path.glob("*.bin"))) == 1  # upstairs printed
    (problem,) = office.status().problems
    assert problem.device == "kiosk entrance: printer"


FULL_C = default_config_text().replace(
    "daily_limit = 40", 'daily_limit = 40\nhours = { tue = "08:30-09:20", wed = "08:30-12:00" }'
)
"""Burgerlijke stand closes at 09:20 today (the tests' clock says 09:00) and opens tomorrow."""


async def test_a_service_full_for_today_says_when_to_come_back_and_issues_nothing(
    make_kiosk, office
):
    from loket.errors import Refused

    app = make_kiosk(FULL_C)
    office.refresh_config()
    with pytest.raises(Refused):
        for _ in range(40):
            office.issue_ticket("C")
    issued = len(office.store.all_tickets())
    async with app.run_test(size=SIZE) as pilot:
        assert "3  Burgerlijke stand\nVol voor vandaag · kom morgen om 08:30 terug" in (
            screen_text(app)
        )
        assert app.screen.query_one("#service-C").has_class("unavailable")
        await pilot.click("#service-C")
        await settle(pilot)
        assert isinstance(app.screen, NoticeScreen)
        assert texts.text("nl", "full_today_explained") in screen_text(app)
        assert "Kom morgen om 08:30 terug." in screen_text(app)
        await pilot.press("enter")
        await button_box(pilot, "1")  # other services still give tickets
        assert app.screen.query_one("#number").text == "A001"
    assert len(office.store.all_tickets()) == issued + 1


def test_a_kiosk_is_named_after_its_machine_unless_staff_name_it(db_path, capsys):
    import socket

    from loket.cli import main

    assert KioskApp(str(db_path)).printer_device == f"kiosk {socket.gethostname()}: printer"
    with pytest.raises(SystemExit) as usage:  # refused before any screen opens
        main(["--db", str(db_path), "kiosk", "--name", " "])
    assert usage.value.code == 2
    assert "--name: expected a short name such as entrance" in capsys.readouterr().err


# every size a kiosk or the demo gives it

SIZES = [(49, 46), (80, 24), (100, 30), (120, 40), (150, 40), (160, 48), (240, 67)]
"""From a third of a 150-column terminal (`loket demo`) to a full-HD touch screen."""


def shown_in(app, widget) -> str:
    """The words a widget shows on screen, its lines joined: a label cut off is not whole here."""
    region = widget.content_region
    lines = shown_lines(app)[region.y : region.bottom]
    return " ".join(" ".join(line[region.x : region.right].split()) for line in lines).strip()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_every_label_of_the_start_screen_is_whole_at_every_size(make_kiosk, size):
    app = make_kiosk(PRIORITY_ON)
    async with app.run_test(size=size) as pilot:
        for language in app.office.languages:
            await pilot.click(f"#language-{language}")
            await pilot.pause()
            screen = app.screen
            for other in app.office.languages:
                button = screen.query_one(f"#language-{other}")
                assert shown_in(app, button) == texts.text(other, "language_name"), size
            priority = shown_in(app, screen.query_one("#priority"))
            assert priority.endswith(texts.text(language, "priority_explained")), size
            assert texts.text(language, "priority_button") in priority, size
            for code, service in app.office.services.items():
                if service.walk_in:
                    label = shown_in(app, screen.query_one(f"#service-{code}"))
                    assert " ".join(service.name(language).split()) in label, (size, language)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_the_ticket_number_grows_with_the_screen_centred_above_whole_lines(make_kiosk, size):
    app = make_kiosk()
    async with app.run_test(size=size) as pilot:
        await button_box(pilot, "1")
        screen = app.screen
        number = screen.query_one("#number").region
        column = screen.query_one("#ticket-text").content_region
        assert abs((number.x - column.x) - (column.right - number.right)) <= 1, size  # centred
        assert screen.region.contains_region(number)
        assert not number.overlaps(screen.query_one("#qr").region)
        if size == (240, 67):
            assert number.height >= 67 // 3
        elif size == (49, 46):
            assert number.height == 5  # one glyph high: the column is only 45 wide
        for name in ("service", "position", "wait", "print-state", "continue"):
            widget = screen.query_one(f"#{name}")
            assert shown_in(app, widget) == " ".join(str(widget.render()).split()), (size, name)


# booking systems' own numbers

UID_CONFIG = default_config_text() + "\n[appointments]\ncheck_in_by_uid = true\n"


async def test_a_booking_number_with_0_and_1_is_tapped_where_the_office_allows_it(
    make_kiosk, office, clock
):
    app = make_kiosk(UID_CONFIG)
    office.refresh_config()
    office.add_appointment("B", clock.now + timedelta(minutes=10), uid="20261001")
    async with app.run_test(size=SIZE) as pilot:
        await type_on_keypad(pilot, "20261001")
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.query_one("#number").text == "R001"


async def test_the_keypad_has_no_0_or_1_when_only_references_are_typed(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        await settle(pilot)
        keys = {button.id for button in app.screen.query("#keypad TouchButton")}
        assert len(keys) == 29 and not keys & {"key-0", "key-1", "key-O", "key-I"}


async def test_a_printer_with_an_unknown_profile_is_marked_and_listed_for_staff(
    make_kiosk, office, tmp_path
):
    profile = 'printer_profile = "no-such-printer"'
    config = default_config_text().replace('printer_profile = "default"', profile, 1)
    app = make_kiosk(config, printer=f"file:{tmp_path}/printed")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert texts.text("nl", "printer_fault") in "\n".join(shown_lines(app))
    (problem,) = office.status().problems
    assert problem.problem == "not used: unknown printer profile 'no-such-printer'"


async def test_a_ten_digit_booking_number_tapped_on_the_keypad_checks_in(make_kiosk, office, clock):
    app = make_kiosk(UID_CONFIG)
    office.refresh_config()
    office.add_appointment("B", clock.now + timedelta(minutes=10), uid="2345678923")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        for character in "2345678923":
            await pilot.click(f"#key-{character}")
        assert app.screen.query_one("#reference").value == "2345678923"  # no dash left in it
        await pilot.click("#check-in")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"


@pytest.mark.parametrize(
    "typed",
    ["bk-2026-1001", "https://afspraken.example.be/bevestiging/bk-2026-1001"],
    ids=["booking number", "scanned link"],
)
async def test_a_booking_code_typed_into_the_reference_field_is_shown_and_checked_as_typed(
    make_kiosk, office, clock, typed
):
    app = make_kiosk(UID_CONFIG)
    office.refresh_config()
    office.add_appointment("B", clock.now + timedelta(minutes=10), uid="bk-2026-1001")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        await pilot.press(*typed)
        assert app.screen.query_one("#reference").value == typed
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#number").text == "R001"


async def test_the_field_formats_only_while_the_text_can_be_a_reference(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        field = app.screen.query_one("#reference")
        shown = []
        for key in "bk-2026":
            await pilot.press(key)
            shown.append(field.value)
        assert shown == ["B", "BK", "BK", "BK2", "bk-20", "bk-202", "bk-2026"]
        await pilot.press(*["backspace"] * 4)
        assert (field.value, field.typed) == ("BK", "bk-")
        await pilot.press("3")
        assert (field.value, field.typed) == ("BK3", "bk-3")
        await pilot.press(*"456789")
        assert field.value == "bk-3456789"  # nine characters: no longer a reference


async def test_erasing_next_to_the_fields_dash_erases_a_character(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#appointment")
        field = app.screen.query_one("#reference")
        await pilot.press(*"7kqm3x", "left", "left")
        assert (field.value, field.cursor_position) == ("7KQM-3X", 5)  # just after the dash
        await pilot.press("backspace")
        assert (field.value, field.cursor_position) == ("7KQ3-X", 3)
        await pilot.press("right", "delete")  # just before the dash
        assert (field.value, field.typed) == ("7KQ3", "7kq3")


# what to bring, the online address and the phone page (issue 13)

PUBLIC_URL = "https://loket.stad.be"
WEB_CONFIG = default_config_text().replace('public_url = ""', f'public_url = "{PUBLIC_URL}"', 1)
"""The demo office whose tickets carry a QR of the visitor's phone page."""
NOTES = ("bring", "online", "online-url")


def decoded_screen_qr(app) -> str:
    import zxingcpp

    (decoded,) = zxingcpp.read_barcodes(text_qr_to_image(str(app.screen.query_one("#qr").render())))
    return decoded.text


async def test_the_ticket_screen_says_what_to_bring_and_where_to_do_it_online(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        text = screen_text(app)
        assert "Breng mee: Uw identiteitskaart · Een recente pasfoto" in text
        assert "Wist u dat? U kunt dit ook online aanvragen." in text
        assert str(app.screen.query_one("#online-url").render()) == "https://www.example.be/eid"
        # without a public address the QR is the ticket's own signed code, uncaptioned
        assert decoded_screen_qr(app) == app.screen.receipt.code
        assert not app.screen.query_one("#qr-caption").display
        app.end_visit()
        await pilot.click("#language-en")
        await button_box(pilot, "3")  # civil registry: nothing to bring, not online
        assert [app.screen.query_one(f"#{name}").display for name in NOTES] == [False] * 3
        assert "Bring" not in screen_text(app) and "online" not in screen_text(app)


async def test_with_a_public_url_the_screen_shows_the_phone_pages_qr_in_the_visitors_language(
    make_kiosk, office
):
    app = make_kiosk(WEB_CONFIG)
    office.refresh_config()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#language-fr")
        await button_box(pilot, "2")
        ticket = app.screen.receipt.ticket
        link = decoded_screen_qr(app)
        assert link == f"{PUBLIC_URL}/t/{office.visitor_token(ticket)}?lang=fr"
        assert str(app.screen.query_one("#qr-caption").render()) == (
            "Suivez votre tour sur votre téléphone"
        )
    token = link.removeprefix(f"{PUBLIC_URL}/t/").partition("?")[0]
    assert office.visit(token).ticket.number == "B001"  # the page follows this very ticket


async def test_with_a_public_url_the_paper_has_the_phone_pages_qr_and_the_code_scanned_back(
    make_kiosk, office, tmp_path
):
    import zxingcpp
    from PIL import Image, ImageOps

    out = tmp_path / "printed"
    app = make_kiosk(WEB_CONFIG, printer=f"file:{out}")
    office.refresh_config()
    async with app.run_test(size=SIZE) as pilot:
        await button_box(pilot, "1")
        await app.workers.wait_for_complete()
        receipt = app.screen.receipt
        (png,) = out.glob("A001-*.png")
        framed = ImageOps.expand(Image.open(png).convert("L"), border=40, fill=255)
        found = sorted(code.text for code in zxingcpp.read_barcodes(framed))
        link = office.visitor_url(receipt.ticket, "nl")
        assert found == sorted([link, receipt.code])
        (data,) = [path.read_bytes() for path in out.glob("A001-*.bin")]
        assert b"Volg uw beurt op uw gsm" in data and b"https://www.example.be/eid" in data
        office.call_next("1")
        office.no_show("1")  # away when called: the paper's own code brings them back
        app.end_visit()
        await scan(pilot, receipt.code)
        assert "Welkom terug: u staat opnieuw in de rij." in screen_text(app)


async def test_a_public_url_that_cannot_be_signed_just_now_still_gives_the_ticket(
    make_kiosk, monkeypatch, caplog
):
    from loket.errors import StorageError

    app = make_kiosk(WEB_CONFIG)

    def key_unreadable(ticket):
        raise StorageError("database is locked")

    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app.engine, "visitor_token", key_unreadable)
        await button_box(pilot, "1")
        assert app.screen.query_one("#number").text == "A001"
        assert decoded_screen_qr(app) == app.screen.receipt.code
        assert not app.screen.query_one("#qr-caption").display
    assert "A001 without its phone page: database is locked" in caplog.text


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_every_line_of_the_fullest_ticket_and_its_phone_qr_are_whole_at_every_size(
    make_kiosk, office, clock, size
):
    """A check-in's welcome, what to bring, the online hint and its address, and the QR."""
    app = make_kiosk(WEB_CONFIG)
    office.refresh_config()
    booking = booked(office, clock, 5, service="A")
    async with app.run_test(size=size) as pilot:
        await pilot.click("#language-de")  # German has the longest lines
        await scan(pilot, booking.qr_payload)
        screen = app.screen
        assert screen.query_one("#message").display
        for name in ("message", "service", *NOTES, "position", "wait", "continue", "qr-caption"):
            widget = screen.query_one(f"#{name}")
            assert shown_in(app, widget) == " ".join(str(widget.render()).split()), (size, name)
        qr = screen.query_one("#qr").region
        assert screen.region.contains_region(qr), size
        assert not qr.overlaps(screen.query_one("#ticket-text").region), size
        assert decoded_screen_qr(app) == office.visitor_url(screen.receipt.ticket, "de")
