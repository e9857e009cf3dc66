"""The self-service ticket kiosk: walk-in tickets, appointment check-in, printing."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime

from textual import events, work
from textual.app import App
from textual.message import Message
from textual.reactive import reactive

from kiosk.appointment import AppointmentScreen
from kiosk.guidance import Guidance
from kiosk.notice import NoticeScreen, UnavailableScreen, WaitingScreen
from kiosk.staff import PinScreen, StaffMenu, StaffScreen
from kiosk.start import StartScreen
from kiosk.ticket import TicketScreen
from loket import texts
from loket.codes import ALPHABET
from loket.engine import ALREADY_CHECKED_IN, NOT_RECOGNISED, CheckIn, Engine
from loket.errors import LoketError, Refused, StorageError
from loket.model import Receipt, utc_now
from loket.speech import Voice
from tui.theme import use_high_contrast
from tui.watch import ChangeWatcher
from tui.worker import WAIT_NOTICE_SECONDS, DatabaseFailed, operation_engine

log = logging.getLogger("loket.kiosk")

# A scanner types its payload within milliseconds; a person types a reference slower.
# Keys further apart than this start a new code.
TYPING_GAP_SECONDS = 2.0
# A key this soon after a code's character is the scanner's, whatever it is (a person
# types slower): the screen may not have seen that character yet, so `typed` cannot tell.
SCANNER_GAP_SECONDS = 0.05
# How long a lone digit waits for more keys before it counts as a button-box press:
# longer than a person's pause between the keys of a reference (2 then YA7FEZX).
BUTTON_BOX_SECONDS = 1.5
PENDING_TAP_SECONDS = 120
"""A tap whose ticket went unanswered is asked again only this long: then the visitor left."""
MAX_HOLD_SECONDS = 300
"""However long the voice goes on, a visit ends this long after its timer first wanted it to."""
LARGER_TEXT_KEY = "."
"""Switches the whole kiosk to its larger text and back (EN 301 549 5.1.4)."""
CHECKIN_TEXTS = {
    "accepted": "checkin_accepted",
    "already_checked_in": "checkin_already",
    "too_early": "checkin_too_early",
    "other_day": "checkin_other_day",
    "cancelled": "checkin_cancelled",
    "not_recognised": "checkin_not_recognised",
    "already_served": "checkin_served",
    "missed": "checkin_missed",
    "reinstated": "checkin_reinstated",
    "called_now": "checkin_called_now",
}
SCANNED_TICKET_TEXTS = {
    "already_checked_in": "ticket_still_waiting",
    "missed": "ticket_missed",
    "other_day": "ticket_other_day",
}
"""Outcomes of a scanned ticket (not an appointment) that need their own words."""


def code_character(character: str | None) -> bool:
    """Whether a key's character can be part of a scanned or typed code."""
    return bool(character) and character.isascii() and (character.isalnum() or character == "-")


def starts_code(character: str | None) -> bool:
    """Whether a code may start with this character: a letter or a digit, never a dash."""
    return code_character(character) and character.isalnum()


def printer_device(kiosk_name: str) -> str:
    """The name `loket status` lists this kiosk's printer fault under: one row per kiosk."""
    return f"kiosk {kiosk_name}: printer"


@dataclass(frozen=True)
class Tap:
    """A visitor's tap on a service; its key makes a retry the same request, not a new one."""

    service: str
    priority: bool
    key: str
    at: float
    """When it was tapped (time.monotonic)."""


@dataclass
class TicketUnanswered(Message):
    """The database did not answer a tap: its ticket may or may not have committed."""

    tap: Tap
    error: StorageError


@dataclass
class TicketIssued(Message):
    """A walk-in ticket was committed: it must reach the visitor."""

    receipt: Receipt


@dataclass
class TicketRefused(Message):
    """The engine refused a walk-in ticket for `service` (closed, at its limit)."""

    service: str
    reason: str


@dataclass
class PrinterChecked(Message):
    """A ticket went to the printer: `problem` is its fault, or None if it printed."""

    problem: str | None


@dataclass
class CheckedIn(Message):
    """A check-in attempt was answered (with or without a ticket)."""

    result: CheckIn


class KioskApp(App, inherit_bindings=False):
    """Full-screen kiosk; no key reaches a visitor that could quit or break out of it."""

    CSS_PATH = "kiosk.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]
    ENABLE_COMMAND_PALETTE = False
    TITLE = "Loket"

    language: reactive[str] = reactive("nl")
    """The visitor's language; back to the office's first language when idle."""
    printer_fault: reactive[bool] = reactive(False)
    """The last ticket did not print: staff see a mark in the start screen's corner."""

    def __init__(
        self,
        db_path: str,
        clock=utc_now,
        printer: str = "none",
        kiosk_name: str | None = None,
        watch_interval: float = 1.0,
        cursor_blink: bool = True,
        voice: Voice | None = None,
    ):
        """`kiosk_name` names its printer for staff (the host name if None); `voice` speaks.

        `clock`, `watch_interval` and `cursor_blink` are for tests; a kiosk keeps the defaults.
        """
        super().__init__()
        self.cursor_blink = cursor_blink
        self.db_path = str(db_path)
        self.clock = clock
        self.printer_spec = printer
        self.printer_device = printer_device(kiosk_name or socket.gethostname())
        """Its own row in `loket status`: one kiosk printing fine never clears another's fault."""
        self.printer = None
        self.printer_lock = threading.Lock()
        """One ticket at a time reaches the printer, and its state is reported in that order."""
        self.printer_reported: bool | None = None
        """The fault state last recorded in the database (None: not yet since start)."""
        self.watch_interval = watch_interval
        self.engine: Engine | None = None
        self.watcher: ChangeWatcher | None = None
        self.typed = ""
        self.typed_at = 0.0
        self.code_key_at = 0.0
        """When the app last passed a code's character on to the screen (see SCANNER_GAP_SECONDS)."""
        self.recent_keys: list[str] = []
        self.button_box_timer = None
        self.idle_timer = None
        self.busy = False
        """An operation is in flight: taps and scans wait, so one tap is one ticket."""
        self.waiting_timer = None
        self.guidance = Guidance(self, voice)
        """Spoken guidance, from the speech key until the visit ends."""
        self.visit_end_timer = None
        self.held_speech_key: tuple[str, Callable[[], None]] | None = None
        """A speech key on the start screen that may yet be a scan's first character."""
        self.held_speech_timer = None
        self.held_since: float | None = None
        """When a timer first wanted the visit to end but the voice held it; None if it did not."""
        self.priority_tickets: bool | None = None
        """Staff offer priority tickets here: the config's default until they switch it."""
        self.pending_tap: Tap | None = None
        """A tap the database did not answer: asked again, with its key, once it is back."""

    # start-up and the database

    def on_mount(self) -> None:
        use_high_contrast(self)
        self.install_screen(TicketScreen(), name="ticket")
        # Staff or systemd close it with SIGTERM. A hangup (the terminal is gone) keeps its
        # default and ends the kiosk at once: Textual's shutdown could block forever writing
        # the terminal's reset to it, and the kiosk then ignored every later SIGTERM.
        self._loop_signal(signal.SIGTERM)
        if self.connect():
            self.push_screen(StartScreen())
        self.set_interval(self.watch_interval, self.follow_changes)

    def _loop_signal(self, number: int) -> None:
        with suppress(NotImplementedError, RuntimeError):  # not on this platform or thread
            asyncio.get_running_loop().add_signal_handler(number, self.exit)

    def connect(self) -> bool:
        """Open the database; on failure show the calm 'one moment' screen, which retries."""
        try:
            self.engine = Engine(self.db_path, clock=self.clock, create=False)
        except LoketError as error:
            self.unavailable(error)
            return False
        self.watcher = ChangeWatcher(self.engine)
        self.language = self.office.languages[0]
        if self.priority_tickets is None:  # staff's choice outlives a database outage
            self.priority_tickets = self.office.kiosk.priority
        self.printer = self._open_printer()
        self.touched()
        return True

    def _open_printer(self):
        """The ticket printer with the office's profile; a bad profile means screen-only, logged."""
        from loket.printing import open_printer

        try:
            return open_printer(self.printer_spec, self.office.kiosk.printer_profile)
        except ValueError as error:
            log.error("printer %s not used: %s", self.printer_spec, error)
            self.printer_fault = True
            self.report_printer_problem(f"not used: {error}")
            return None

    @work(thread=True, exit_on_error=False, group="printer")
    def report_printer_problem(self, problem: str) -> None:
        """A printer that cannot even be used goes to `loket status` too (in a worker)."""
        self._report_printer(problem)

    @property
    def office(self):
        return self.engine.office

    def unavailable(self, error: Exception) -> None:
        """Cover everything with 'one moment please' until the database answers again."""
        if isinstance(error, LoketError):
            log.warning("database unavailable: %s", error)
        else:  # a bug: the visitor still reads 'one moment', the log gets the traceback
            log.error("kiosk operation failed", exc_info=error)
        if not isinstance(self.screen, UnavailableScreen):
            self.push_screen(UnavailableScreen())

    def retry(self) -> bool:
        """Called by the unavailable screen every few seconds; True once it works again."""
        try:
            if self.engine is not None and not self.watcher.same_file():
                self.drop_engine()  # its file was replaced: open the new one
            if self.engine is None and not self.connect():
                return False
            self.engine.services()
        except StorageError:
            self.drop_engine()  # a broken connection stays broken: open a new one next time
            return False
        except LoketError:
            return False
        self.back_to_start()
        self.ask_again()
        return True

    def drop_engine(self) -> None:
        if self.engine is not None:
            self.engine.close(checkpoint=False)
        self.engine = self.watcher = None

    def ask_again(self) -> None:
        """The tap the database did not answer, with the same key: one ticket, never two."""
        tap, self.pending_tap = self.pending_tap, None
        if tap is None:
            return
        if time.monotonic() - tap.at > PENDING_TAP_SECONDS:
            log.warning("tap on %s not asked again: the database was away too long", tap.service)
        elif self.start_operation():
            self.issue_in_background(tap)

    def follow_changes(self) -> None:
        """Refresh the start screen when any kiosk or counter changed the queue or the office."""
        if not self.is_running:  # shutting down: its screens are being taken apart
            return
        if self.watcher is None or isinstance(self.screen, UnavailableScreen):
            return
        try:
            changed = self.watcher.changed()
            new_office = changed and self.engine.refresh_config()
        except StorageError as error:
            self.unavailable(error)
            return
        if new_office:
            log.info("office config changed: services %s", ", ".join(self.office.services))
        if changed and isinstance(self.screen, StartScreen):
            if new_office:  # services may have come or gone: build the buttons anew
                self.screen.refresh(recompose=True)
            else:
                self.screen.refresh_services()

    # texts

    def t(self, key: str, **fields) -> str:
        """A visitor text in the current language."""
        return texts.text(self.language, key, **fields)

    def when(self, moment: datetime) -> str:
        """'today at 13:00', 'tomorrow at 08:30' or 'Monday 7 December at 09:00'."""
        local = self.engine.local(moment)
        days_ahead = (local.date() - self.engine.local(self.clock()).date()).days
        if days_ahead == 0:
            return self.t("today_at", time=f"{local:%H:%M}")
        if days_ahead == 1:
            return self.t("tomorrow_at", time=f"{local:%H:%M}")
        return self.t(
            "on_day_at", day=texts.day_text(self.language, local.date()), time=f"{local:%H:%M}"
        )

    def watch_language(self) -> None:
        if isinstance(self.screen, StartScreen):
            self.screen.refresh(recompose=True)
        self.guidance.language_changed()

    # navigation

    def back_to_start(self) -> None:
        """Close every screen above the start screen (pushing it if it is not there yet)."""
        while len(self.screen_stack) > 1 and not isinstance(self.screen, StartScreen):
            self.pop_screen()
        if not isinstance(self.screen, StartScreen):
            self.push_screen(StartScreen())

    def end_visit(self) -> None:
        """One visitor is done: start screen, default language, no priority left switched on."""
        self.guidance.stop()
        self.held_since = None
        self.back_to_start()
        self.language = self.office.languages[0]
        self.screen.priority = False

    def end_visit_when_quiet(self) -> None:
        """A timer ends the visit, but never while the voice speaks or a repeat may follow."""
        if self.held_since is None:
            self.held_since = time.monotonic()
        held = time.monotonic() - self.held_since
        if not self.guidance.holds_visit() or held > MAX_HOLD_SECONDS:
            self.end_visit()
            return
        self._stop_visit_end_timer()
        self.visit_end_timer = self.set_timer(1.0, self.end_visit_when_quiet)

    def _stop_visit_end_timer(self) -> None:
        if self.visit_end_timer is not None:
            self.visit_end_timer.stop()
            self.visit_end_timer = None

    def show_appointment(self) -> None:
        self.push_screen(AppointmentScreen())

    # visitors' actions

    def take_ticket(self, service: str, priority: bool = False) -> None:
        """A walk-in visitor tapped a service: issue in a worker, then show and print."""
        if self.start_operation():
            self.issue_in_background(
                Tap(service, priority, secrets.token_hex(16), time.monotonic())
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="database")
    def issue_in_background(self, tap: Tap) -> None:
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                receipt = engine.issue_ticket(tap.service, tap.priority, request_key=tap.key)
        except Refused as error:
            self.post_message(TicketRefused(tap.service, str(error)))
        except StorageError as error:  # the answer, or the connection, was lost
            self.post_message(TicketUnanswered(tap, error))
        except Exception as error:  # the kiosk must never stay busy: a bug
            self.post_message(DatabaseFailed(error))
        else:
            self.post_message(TicketIssued(receipt))

    def start_operation(self) -> bool:
        """False while another operation is in flight; else count the wait from now."""
        if self.busy:
            log.info("input ignored: the last operation still waits for the database")
            return False
        self.busy = True
        self.waiting_timer = self.set_timer(WAIT_NOTICE_SECONDS, self._show_waiting)
        return True

    def _show_waiting(self) -> None:
        if self.busy and not isinstance(self.screen, UnavailableScreen):
            self.push_screen(WaitingScreen())

    def end_operation(self) -> None:
        self.busy = False
        if self.waiting_timer is not None:
            self.waiting_timer.stop()
            self.waiting_timer = None
        if isinstance(self.screen, WaitingScreen):
            self.pop_screen()

    def on_ticket_issued(self, message: TicketIssued) -> None:
        self.end_operation()
        self.hand_out(message.receipt)

    def on_ticket_refused(self, message: TicketRefused) -> None:
        self.end_operation()
        log.info("ticket for %s refused: %s", message.service, message.reason)
        try:
            self.push_screen(NoticeScreen(self._refusal_text(message.service)))
        except StorageError as error:
            self.unavailable(error)

    def on_ticket_unanswered(self, message: TicketUnanswered) -> None:
        self.end_operation()
        self.pending_tap = message.tap
        self.unavailable(message.error)

    def on_database_failed(self, message: DatabaseFailed) -> None:
        self.end_operation()
        self.unavailable(message.error)

    def _refusal_text(self, code: str) -> str:
        status = next((s for s in self.engine.services() if s.code == code), None)
        if status is not None and not status.open_now and status.opens_at is not None:
            return self.t("closed_until", when=self.when(status.opens_at))
        if status is not None and status.limit_reached:
            return self.t("limit_reached")
        if status is not None and status.full_today:
            return self.full_today_text(status)
        return self.t("ticket_refused")

    def full_today_text(self, status) -> str:
        """Why a service gives no more tickets today, and when to come back."""
        explained = self.t("full_today_explained")
        if status.opens_at is None:
            return explained
        return f"{explained} {self.t('come_back_when', when=self.when(status.opens_at))}"

    def check_in(self, code: str) -> None:
        """A scanned QR code (a letter's or a ticket's) or a typed reference: each outcome says so."""
        if self.start_operation():
            self.check_in_in_background(code)

    @work(thread=True, exclusive=True, exit_on_error=False, group="database")
    def check_in_in_background(self, code: str) -> None:
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                result = engine.check_in(code)
        except Refused as error:  # e.g. a signed ticket this office's database no longer holds
            log.info("scanned code not taken: %s", error)
            self.post_message(CheckedIn(CheckIn(NOT_RECOGNISED)))
        except Exception as error:  # the kiosk must never stay busy: StorageError, or a bug
            self.post_message(DatabaseFailed(error))
        else:
            self.post_message(CheckedIn(result))

    def on_checked_in(self, message: CheckedIn) -> None:
        self.end_operation()
        result = message.result
        text = self._checkin_text(result)
        if result.receipt is not None:
            # A visitor scanning the ticket they hold needs no second paper; one back in
            # line, or with a new ticket for their appointment, gets it printed.
            again = result.outcome == ALREADY_CHECKED_IN and result.appointment_at is None
            self.hand_out(result.receipt, text, print_it=not again)
        else:
            self.push_screen(NoticeScreen(text))

    def _checkin_text(self, result: CheckIn) -> str:
        if result.appointment_at is None and result.outcome in SCANNED_TICKET_TEXTS:
            # A ticket's code (an appointment's outcome always knows its time): its own words.
            day = "" if result.day is None else self._day(result.day)
            return self.t(SCANNED_TICKET_TEXTS[result.outcome], ticket=result.number, day=day)
        at = (
            ""
            if result.appointment_at is None
            else f"{self.engine.local(result.appointment_at):%H:%M}"
        )
        if result.outcome == "too_late":
            return self.t(
                "checkin_too_late_ticket" if result.receipt else "checkin_too_late_refused", time=at
            )
        if result.outcome == "too_early":
            return self.t(
                "checkin_too_early", time=f"{self.engine.local(result.allowed_from):%H:%M}"
            )
        if result.outcome == "other_day":
            return self.t("checkin_other_day", day=self._day(result.day))
        return self.t(
            CHECKIN_TEXTS[result.outcome], time=at, ticket=result.number, counter=result.counter
        )

    def _day(self, day: str) -> str:
        """A service day (YYYY-MM-DD) as the visitor reads it."""
        return texts.day_text(self.language, date.fromisoformat(day))

    def hand_out(self, receipt: Receipt, message: str | None = None, print_it: bool = True) -> None:
        """Show the ticket at once; the printer gets it in a worker so the screen never waits."""
        printing = print_it and self.printer is not None
        link = self.engine.visitor_url(receipt.ticket, self.language)
        self.back_to_start()
        screen = self.get_screen("ticket")
        screen.show(receipt, message, printing=printing, visitor_url=link)
        self.push_screen(screen)
        if printing:
            self.print_ticket(receipt, screen, link)

    @work(thread=True, exit_on_error=False, group="printer")
    def print_ticket(
        self, receipt: Receipt, screen: TicketScreen, visitor_url: str | None = None
    ) -> None:
        """Print; a fault never loses the ticket: the screen asks to note the number."""
        from loket.printing import PrinterError, printed_ticket

        with self.printer_lock:
            problem = None
            try:
                printed = printed_ticket(receipt, self.office, self.language, visitor_url)
                self.printer.print_ticket(printed)
            except PrinterError as error:
                log.error(
                    "printer fault, ticket %s shown on screen only: %s",
                    receipt.ticket.number,
                    error,
                )
                self.call_from_thread(screen.printer_failed, receipt.ticket.number)
                problem = str(error)
            self.post_message(PrinterChecked(problem))
            self._report_printer(problem)

    def _report_printer(self, problem: str | None) -> None:
        """Record a new fault, or its end, for `loket status` (in the printing worker)."""
        fault = problem is not None
        if fault == self.printer_reported:
            return
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                engine.report_problem(self.printer_device, problem)
        except Exception as error:  # the next ticket tries again; printing is what matters
            log.error("printer state not recorded in the database: %s", error)
        else:
            self.printer_reported = fault

    def on_printer_checked(self, message: PrinterChecked) -> None:
        self.printer_fault = message.problem is not None

    def watch_printer_fault(self, fault: bool) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, StartScreen):
                screen.show_printer_fault(fault)

    # input from touch, keyboard, scanner and button box

    async def on_event(self, event: events.Event) -> None:
        # A key the screen handled comes back up forwarded: it was already counted once.
        if isinstance(event, events.Key | events.MouseDown) and not event.is_forwarded:
            self.touched()
            self.guidance.interrupt()
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._kiosk_key(event):
                return  # before any text field: these keys never reach one
            if code_character(event.character):
                self.code_key_at = time.monotonic()
        await super().on_event(event)

    def _kiosk_key(self, event: events.Key) -> bool:
        """The speech keys and the larger-text key; True if `event` was one of them."""
        self._let_go_speech_key(event)
        if self.engine is None or self.typing_code(event):
            return False
        if event.character == LARGER_TEXT_KEY and not isinstance(self.screen, StaffScreen):
            self.toggle_class("-large-text")
            return True
        action = self.guidance.action(event)
        if action is None:
            return False
        if isinstance(self.screen, StartScreen) and self.may_start_code(event.character):
            # A reference may start with 9, a booking number with 0: the key acts only if
            # no other character follows in time, like a button box's digit.
            self.held_speech_key = (event.character, action)
            self.held_speech_timer = self.set_timer(BUTTON_BOX_SECONDS, self._held_speech_key)
        else:
            action()
        return True

    def may_start_code(self, character: str | None) -> bool:
        """Whether a code typed or scanned here may start with `character`.

        A reference's characters; any letter or digit where visitors type booking numbers.
        Elsewhere `0` never starts a code, so the speech key speaks at once.
        """
        if not starts_code(character):
            return False
        return self.office.check_in_by_uid or character.upper() in ALPHABET

    def _held_speech_key(self) -> None:
        """No key followed the speech key: it was meant for the voice."""
        (_, action), self.held_speech_key = self.held_speech_key, None
        action()

    def _let_go_speech_key(self, event: events.Key) -> None:
        """A key after a held speech key: a character makes it the start of a code."""
        if self.held_speech_key is None:
            return
        self.held_speech_timer.stop()
        (character, action), self.held_speech_key = self.held_speech_key, None
        if code_character(event.character):
            self.typed, self.typed_at = character, time.monotonic()
        else:
            action()  # e.g. Enter after the speech key: speech on, then the check-in

    def typing_code(self, event: events.Key) -> bool:
        """Whether this key belongs to a reference or a scan being typed, not to the kiosk."""
        if not (event.character and event.character.isprintable()):
            return False  # function keys, Enter: never part of what is typed
        now = time.monotonic()
        if now - self.code_key_at <= SCANNER_GAP_SECONDS:
            return True  # keys arrive faster than the screen takes them: LT2026... keeps its 0
        if isinstance(self.screen, AppointmentScreen):
            return self.screen.takes(event.character)
        return bool(self.typed) and now - self.typed_at <= TYPING_GAP_SECONDS

    def touched(self) -> None:
        """Someone is using the kiosk: restart the idle countdown."""
        if self.engine is None:
            return
        self._stop_visit_end_timer()
        self.held_since = None
        if self.idle_timer is not None:
            self.idle_timer.stop()
        self.idle_timer = self.set_timer(self.office.kiosk.idle_seconds, self.went_idle)

    def went_idle(self) -> None:
        """Nobody touched it for a while: start screen, default language."""
        if not isinstance(self.screen, UnavailableScreen):
            self.end_visit_when_quiet()

    def key_pressed(self, event: events.Key) -> None:
        """Keys no widget took: the staff exit sequence, a scanner's payload, a button box."""
        if self.engine is None:
            return
        if self._staff_sequence(event.key):
            return
        now = time.monotonic()
        if now - self.typed_at > TYPING_GAP_SECONDS:
            self.typed = ""
        self.typed_at = now
        lone_digit = self._stop_button_box()  # any key after the digit: someone is typing
        if event.key == "enter":
            code, self.typed = self.typed, ""
            if lone_digit and code.isdigit():  # a box that ends its digit with Enter
                self._choose_service(code)
            elif code and not isinstance(self.screen, UnavailableScreen | StaffScreen):
                self.check_in(code)
            elif not code and isinstance(self.screen, StartScreen):
                event.stop()  # else it bubbles to the app, whose bindings are the new field's
                self.show_appointment()  # Enter alone: the way to type a reference
            elif not code and isinstance(self.screen, NoticeScreen):
                self.back_to_start()  # Enter alone: try again, in the same visit
            return
        character = event.character or ""
        if not code_character(character):
            return
        self.typed += character
        if self.typed.isdigit() and len(self.typed) == 1 and isinstance(self.screen, StartScreen):
            # A button box sends one digit, but a typed reference may start with one (2-9):
            # the digit counts as a button only if no other key follows in time.
            self.screen.mark_key(int(self.typed))
            self.button_box_timer = self.set_timer(BUTTON_BOX_SECONDS, self._button_box_key)

    def _stop_button_box(self) -> bool:
        """Forget a digit waiting to act as a button; True if there was one."""
        if self.button_box_timer is None:
            return False
        self.button_box_timer.stop()
        self.button_box_timer = None
        if isinstance(self.screen, StartScreen):
            self.screen.mark_key(None)
        return True

    def _button_box_key(self) -> None:
        """No key followed the digit: it was the button box choosing a service."""
        self._stop_button_box()
        key, self.typed = self.typed, ""
        self._choose_service(key)

    def _choose_service(self, key: str) -> None:
        if isinstance(self.screen, StartScreen) and key.isdigit():
            self.screen.choose_by_key(int(key))

    def _staff_sequence(self, key: str) -> bool:
        sequence = self.office.kiosk.exit_keys
        self.recent_keys = [*self.recent_keys, key][-len(sequence) :]
        if tuple(self.recent_keys) != sequence:
            return False
        self.recent_keys = []
        self.language = self.office.languages[0]  # staff read the office's language
        self.push_screen(PinScreen())
        return True

    def staff_pin(self, pin: str) -> bool:
        """Open the staff menu if the PIN is right."""
        if pin != self.office.kiosk.pin:
            log.warning("wrong staff PIN entered")
            return False
        self.switch_screen(StaffMenu())
        return True

    def switch_priority_tickets(self) -> None:
        """Staff switch priority tickets on or off at this kiosk, until it restarts."""
        self.priority_tickets = not self.priority_tickets
        log.info("priority tickets switched %s by staff", "on" if self.priority_tickets else "off")

    def close_kiosk(self) -> None:
        log.info("kiosk closed by staff")
        self.exit()

    def on_unmount(self) -> None:
        self.guidance.close()
        if self.engine is not None:
            self.engine.close()
