"""The counter app: one desk's ticket, its line, and the clerk's actions."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Button, Static

from counter.dialogs import (
    ChooseService,
    ConfirmQuit,
    DeskInUseDialog,
    Outcome,
    Question,
    TicketShown,
    TypeCode,
    describe_bindings,
)
from loket import rules, texts
from loket.engine import PRESENCE_INTERVAL_SECONDS, Call, CheckIn, Desk, Engine
from loket.errors import DeskInUse, LoketError, Refused, StorageError
from loket.model import APPOINTMENT, CALLED, NO_SHOW, Receipt, Ticket, utc_now
from loket.printing import printed_ticket, ticket_lines
from loket.texts import text
from tui.bignumber import BigNumber
from tui.theme import use_high_contrast
from tui.watch import ChangeWatcher, Retry
from tui.worker import WAIT_NOTICE_SECONDS, DatabaseFailed, operation_engine

log = logging.getLogger("loket.counter")

# The clerk's actions with their keys, in the order of the buttons.
ACTION_KEYS = {
    "next": "n",
    "recall": "r",
    "done": "d",
    "no_show": "x",
    "transfer": "t",
    "call_number": "c",
    "pause": "p",
    "issue": "i",
    "check_in": "a",
}
# Actions that need a visitor at the counter.
WITH_VISITOR = {"recall", "done", "no_show", "transfer"}
RETRY_SECONDS = 2.0
TALL = 34
"""From this many rows the screen is tall: roomier buttons, and more of the line ahead."""
UPCOMING, UPCOMING_TALL = 5, 10
"""How many of the next numbers the line's panel shows on a short and on a tall screen."""
# The texts of these two reasons steer `run_action`; the language only words them.
NOBODY_WAITING = "counter_nobody_waiting"
BUSY = "counter_busy"
# A refusal's ticket status, in the clerk's words.
REFUSED_STATUS = {
    "waiting": "counter_refused_waiting",
    "done": "counter_refused_served",
    "no_show": "counter_refused_no_show",
    "cancelled": "counter_refused_cancelled",
    "expired": "counter_refused_expired",
}
CHECKIN_TEXTS = {
    "accepted": "counter_checkin_accepted",
    "already_checked_in": "counter_checkin_already",
    "cancelled": "counter_checkin_cancelled",
    "already_served": "counter_checkin_served",
    "missed": "counter_checkin_missed",
    "not_recognised": "counter_checkin_not_recognised",
}
# A scanned ticket (not an appointment's reference): where that ticket stands.
SCANNED_TICKET_TEXTS = {
    "already_checked_in": "counter_refused_waiting",
    "missed": "counter_checkin_ticket_missed",
    "reinstated": "counter_checkin_reinstated",
}


class CounterRemoved(Refused):
    """The office config no longer has this counter."""


@dataclass
class ActionDone(Message):
    """An action was committed; `text` says what it did, `then` gets its result."""

    text: str
    result: object = None
    then: Callable[[object], None] | None = None


@dataclass
class ActionRefused(Message):
    """The engine refused an action (someone got there first, a wrong number...)."""

    text: str


@dataclass
class DeskRead(Message):
    """The desk as the database has it now; `news` when another program changed it."""

    desk: Desk
    day: str
    news: bool


@dataclass
class DeskOpened(Message):
    """This app holds the desk now: the counter is open."""


@dataclass
class DeskHeld(Message):
    """Another screen holds the desk and was heard of lately."""

    held: DeskInUse


@dataclass
class StillHere(Message):
    """The engine heard that this app is still at its desk."""


@dataclass
class PresenceMissed(Message):
    """The engine could not be told that this app is still at its desk (it retries)."""


@dataclass
class DeskLost(Message):
    """Another screen took the desk over (or it was left): this one only shows it now."""


@dataclass
class TicketPrinted(Message):
    """The printer printed the ticket issued at the desk."""

    receipt: Receipt


@dataclass
class PrinterFailed(Message):
    """The printer did not print the ticket issued at the desk (the log says why)."""

    receipt: Receipt


class CounterApp(App):
    """The clerk's screen for one counter; every action is a button and a key."""

    CSS_PATH = "counter.tcss"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (76, "-wide"), (120, "-very-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (TALL, "-tall")]
    BINDINGS = [Binding(key, action, action, id=action) for action, key in ACTION_KEYS.items()]
    ACTIONS = frozenset(ACTION_KEYS)

    def __init__(
        self,
        db_path: str,
        counter: str,
        clock=utc_now,
        watch_interval: float = 0.2,
        tick_interval: float = 1.0,
        printer: str = "none",
        presence_interval: float = PRESENCE_INTERVAL_SECONDS,
        cursor_blink: bool = True,
    ):
        """`printer` is a loket.printing spec; the clock, intervals and blink are for tests."""
        super().__init__()
        self.cursor_blink = cursor_blink
        self.db_path = str(db_path)
        self.counter_id = counter
        self.clock = clock
        self.watch_interval = watch_interval
        self.tick_interval = tick_interval
        self.presence_interval = presence_interval
        self.session = secrets.token_hex(8)
        """This app at this desk, for the engine: another app on the same desk has another."""
        self.holding = False
        """This app holds the desk: the clerk is here, the counter counts as open."""
        self.claiming = self.telling = self.leaving = False
        """Opening the desk, saying we are still there, leaving: each in flight once."""
        self.lost: str | None = None
        """Why this screen no longer acts for the desk (another screen took it over)."""
        self.printer_spec = printer
        self.printer = None
        """Opened by the first print, in the printer's worker: python-escpos loads slowly."""
        self.printer_lock = threading.Lock()
        """One ticket at a time reaches the printer: two tickets in a row never interleave."""
        self.language = texts.LANGUAGES[0]
        """The office's first language, once known: the clerk's screen speaks it."""
        self.engine: Engine | None = None
        self.watcher: ChangeWatcher | None = None
        self.desk: Desk | None = None
        self.problem: str | None = None
        self.retry = Retry(RETRY_SECONDS)
        self.timezone = None  # the office's, once known; until then the machine's
        self.busy = False
        """An action is in flight: keys wait, so one key press is one action."""
        self.waiting_timer = None
        self.waiting_shown = False
        """The clerk is told that the database does not answer yet."""
        self.loaded_day: str | None = None
        self.reading = False
        """A read of the desk is in flight; `read_again` asks for one more after it."""
        self.read_again: bool | None = None
        """None, or whether the read asked for meanwhile was for news from elsewhere."""
        self.reconnected = False

    def t(self, key: str, **fields: object) -> str:
        """A text in the clerk's language."""
        return text(self.language, key, **fields)

    def compose(self) -> ComposeResult:
        # Names, numbers and refusals from the config or the database are plain text:
        # with markup, a name holding "[/]" would crash the app and "[b]" would turn bold.
        with Horizontal(id="top"):
            yield Static(self.t("counter_title", counter=self.counter_id), id="name", markup=False)
            yield Static("", id="state")
            yield Static("", id="clock")
        with Horizontal(id="middle"):
            with Vertical(id="current"):
                yield Static("", id="current-heading", classes="heading")
                yield BigNumber(id="number")
                yield Static("", id="details", markup=False)
            with Vertical(id="line"):
                yield Static("", id="line-heading", classes="heading")
                yield Static("", id="queue", markup=False)
        yield Static("", id="message", markup=False)
        with Horizontal(id="actions"):
            for action in ACTION_KEYS:
                # Never focused: each has its key, and a stray Enter must not call anyone.
                button = Button("", id=action, classes="action")
                button.can_focus = False
                yield button

    # the database

    def on_mount(self) -> None:
        use_high_contrast(self)
        # `systemctl stop` or a kill: leave the desk paused and quit, as Ctrl+Q does.
        self._loop_signal(signal.SIGTERM, self.leave)
        self._loop_signal(signal.SIGHUP, self.hung_up)
        self.relabel()
        self.connect()
        # Timers on the screen stop with it, before the app tears down its widgets.
        self.screen.set_interval(self.watch_interval, self.follow_changes)
        self.screen.set_interval(self.tick_interval, self.tick)
        self.screen.set_interval(self.presence_interval, self.tell_presence)

    def _loop_signal(self, number: int, handler: Callable[[], None]) -> None:
        with suppress(NotImplementedError, RuntimeError):  # not on this platform or thread
            asyncio.get_running_loop().add_signal_handler(number, handler)

    def relabel(self) -> None:
        """Word headings, buttons and key bindings in the office's language."""
        self.query_one("#current-heading", Static).update(self.t("counter_now"))
        self.query_one("#line-heading", Static).update(self.t("counter_waiting"))
        for action in ACTION_KEYS:
            self.query_one(f"#{action}", Button).label = self.button_label(action)
        describe_bindings(
            self,
            lambda action: (
                self.action_word(action)
                if action in ACTION_KEYS
                else (self.t("counter_quit") if action == "quit" else None)
            ),
        )
        self.refresh_bindings()

    def action_word(self, action: str) -> str:
        """An action's name on its button, e.g. "Volgende"."""
        if action == "pause" and self.desk is not None and self.desk.counter.state == "paused":
            return self.t("counter_resume_button")
        return self.t(f"counter_{action}_button")

    def button_label(self, action: str) -> str:
        return f"{self.action_word(action)} ({ACTION_KEYS[action]})"

    def connect(self) -> None:
        """Open the shared database; on failure say so and keep retrying."""
        try:
            self.engine = Engine(self.db_path, clock=self.clock, create=False)
        except LoketError as error:
            self.unavailable(error)
            return
        self.watcher = ChangeWatcher(self.engine)
        self.reconnected, self.problem = self.problem is not None, None
        self.speak_the_office_language()
        self.load()  # an office without this counter makes it unavailable again
        self.claim_desk()

    def speak_the_office_language(self) -> None:
        """The office's language and time zone, from its (maybe new) config."""
        self.timezone = self.office.timezone
        if self.office.languages[0] != self.language:
            self.language = self.office.languages[0]
            self.relabel()

    def unavailable(self, error: Exception) -> None:
        """No usable database: every action off, a plain message, retries in the background."""
        if isinstance(error, CounterRemoved):
            log.warning("%s", error)
            self.problem = self.t("counter_removed", counter=self.counter_id)
        elif isinstance(error, LoketError):
            log.warning("database unavailable: %s", error)
            self.problem = self.t("counter_not_connected")  # the log has the engine's words
        else:
            log.error("counter operation failed", exc_info=error)
            self.problem = self.t("counter_bug")
        if self.engine is not None:
            self.engine.close()
        self.engine = self.watcher = self.desk = None
        self.show()

    def follow_changes(self) -> None:
        """Re-read the desk whenever any kiosk or counter committed a change."""
        if self.busy:  # the action's own commit is not news from elsewhere
            return
        if self.engine is None:
            if self.retry.due():
                self.connect()
            return
        try:
            if not self.watcher.changed():
                return
            if self.engine.refresh_config():
                self._refuse_if_removed(self.engine)
                self.speak_the_office_language()
        except LoketError as error:
            self.unavailable(error)
            return
        self.load(news=True)

    def _refuse_if_removed(self, engine: Engine) -> None:
        if self.counter_id not in engine.office.counters:
            raise CounterRemoved(f"counter {self.counter_id} was removed from the office config")

    def load(self, news: bool = False) -> None:
        """Re-read the desk in a worker; the answer comes back as DeskRead."""
        if self.engine is None:
            return
        if self.reading:
            self.read_again = bool(self.read_again) or news
            return
        self.reading = True
        self._expect_answer()
        # A tall screen has room to show more of the line ahead.
        self.read_desk(news, UPCOMING_TALL if self.size.height >= TALL else UPCOMING)

    @work(thread=True, exit_on_error=False, group="read")
    def read_desk(self, news: bool, upcoming: int) -> None:
        # The first read of a day closes yesterday's tickets, which waits for the write
        # lock: never on the screen's thread.
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                self._refuse_if_removed(engine)
                desk = engine.desk(self.counter_id, upcoming)
                day = engine.today(self.clock())
        except Exception as error:  # the app must never stay stuck: LoketError, or a bug
            self.post_message(DatabaseFailed(error))
        else:
            self.post_message(DeskRead(desk, day, news))

    def on_desk_read(self, message: DeskRead) -> None:
        self.reading = False
        self._answered()
        if self.engine is None:
            return  # it became unavailable meanwhile
        if self.holding and message.desk.held_by not in (None, self.session):
            self.on_desk_lost(DeskLost())  # taken over: known at the take-over's redraw
            return
        before = self.shown_number()
        self.desk, self.loaded_day = message.desk, message.day
        self.show()
        after = self.shown_number()
        if self.reconnected:
            self.reconnected = False
            self.say(self.t("counter_connected"))
        elif message.news and not self.busy and after != before:  # `loket call 1` in a shell
            self.say(
                self.t("counter_called_elsewhere", ticket=after)
                if after
                else self.t("counter_handled_elsewhere", ticket=before)
            )
        if self.read_again is not None:
            news, self.read_again = self.read_again, None
            self.load(news=news)

    # showing

    @property
    def office(self):
        return self.engine.office

    def show(self) -> None:
        """Paint the desk, the line and which actions apply."""
        try:
            self._paint()
        except NoMatches:
            # Only while the app closes: a retry's last redraw found the widgets gone (seen
            # under load, when the test's exit met the counter's 50 ms retries).
            if not self.is_running or self._exit:
                return
            raise

    def _paint(self) -> None:
        desk = self.desk
        if desk is None:
            self.query_one("#state", Static).update("")
            self.query_one("#number", BigNumber).show("")
            self.query_one("#details", Static).update("")
            self.query_one("#queue", Static).update("")
        else:
            state = desk.counter
            self.query_one("#name", Static).update(f"{state.name} · {self.office.name}")
            paused = state.state == "paused"
            self.query_one("#state", Static).update(
                self.t("counter_paused" if paused else "counter_open")
            )
            self.query_one("#state").set_class(paused, "paused")
            self.query_one("#pause", Button).label = self.button_label("pause")
            self.query_one("#number", BigNumber).show(state.current.number if state.current else "")
            self.query_one("#queue", Static).update(self.line_text(desk))
        self.tick()
        self.query_one("#actions").display = not self.lost  # the taken-over screen only quits
        if self.problem or self.lost:
            self.say(self.problem or f"{self.lost} {self.t('counter_quit_hint')}", refused=True)
        for button in self.query(".action").results(Button):
            button.disabled = self.why_not(button.id) is not None
        self.refresh_bindings()

    def tick(self) -> None:
        """Times that move on their own: the clock and how long the visitor waited and stands."""
        now = self.clock()
        # The local date, not the engine's today(): that also weighs the latest day this
        # engine saw in the database, which the workers' fresh engines may see later.
        if self.engine is not None and (
            self.loaded_day is None or self.engine.local(now).date().isoformat() > self.loaded_day
        ):
            self.load()  # a new service day: yesterday's visitor is gone
            self.query_one("#details", Static).update("")
            return
        self.query_one("#clock", Static).update(f"{self.local(now):%H:%M}")
        current = self.desk.counter.current if self.desk else None
        if self.desk is not None and current is None:
            paused = self.desk.counter.state == "paused"
            hint = self.t("counter_paused_hint" if paused else "counter_no_visitor")
            self.query_one("#details", Static).update(hint)
        elif current is not None:
            self.query_one("#details", Static).update(self.ticket_text(current, now))
        if self.desk is not None:
            self.query_one("#queue", Static).update(self.line_text(self.desk))

    def local(self, moment: datetime) -> datetime:
        """A moment on the office's clock (the machine's until the office is known)."""
        return moment.astimezone(self.timezone)

    def service_name(self, code: str) -> str:
        return self.office.services[code].name(self.language)

    def ticket_text(self, ticket: Ticket, now: datetime) -> str:
        """Service, kind, appointment time, waited, called since, recalls."""
        kinds = [self.t("counter_appointment" if ticket.kind == APPOINTMENT else "counter_walk_in")]
        if ticket.priority:
            kinds.append(self.t("counter_priority"))
        if ticket.reinstated:
            kinds.append(self.t("counter_came_back"))
        lines = [f"{ticket.service}  {self.service_name(ticket.service)}", " · ".join(kinds)]
        if ticket.appointment_at is not None:
            lines.append(
                self.t("counter_appointment_at", time=f"{self.local(ticket.appointment_at):%H:%M}")
            )
        waited = (ticket.first_called_at or now) - ticket.arrived_at
        lines.append(self.t("counter_waited", minutes=_minutes(waited)))
        if ticket.called_at is not None:
            lines.append(self.t("counter_called_ago", time=_clock(now - ticket.called_at)))
        if ticket.recalls:
            lines.append(self.t("counter_recalled", count=ticket.recalls))
        return "\n".join(lines)

    def line_text(self, desk: Desk) -> str:
        """Per service the number waiting, then the longest wait, the next numbers, the tally."""
        now = self.clock()
        lines = [
            f"{code}  {count:>3}  {self.service_name(code)}" for code, count in desk.waiting.items()
        ]
        if desk.longest_waiting_since is not None:
            longest = now - desk.longest_waiting_since
            lines.append(self.t("counter_longest_wait", minutes=_minutes(longest)))
        lines.extend(self.upcoming_lines(desk.upcoming, now))
        lines.append(self.t("counter_served_today", count=desk.served_today))
        return "\n".join(lines)

    def upcoming_lines(self, upcoming: list[Ticket], now: datetime) -> list[str]:
        """The next numbers in calling order, one a line, each with why it stands there."""
        if not upcoming:
            return [self.t("counter_next_numbers", ticket="-")]
        label = self.t("counter_next_numbers", ticket="")
        width = max(len(ticket.number) for ticket in upcoming)
        return [
            f"{label if i == 0 else ' ' * len(label)}{t.number:<{width}}  {self.why_there(t, now)}"
            for i, t in enumerate(upcoming)
        ]

    def why_there(self, ticket: Ticket, now: datetime) -> str:
        """What sets a waiting ticket's turn: its appointment, a comeback, or its wait so far."""
        if ticket.kind == APPOINTMENT:
            time = f"{self.local(ticket.appointment_at):%H:%M}"
            return self.t("counter_upcoming_appointment", time=time)
        if ticket.reinstated:
            return self.t("counter_came_back")
        waited = self.t("counter_upcoming_waited", minutes=_minutes(now - ticket.arrived_at))
        return f"{waited} · {self.t('counter_priority')}" if ticket.priority else waited

    def say(self, text: str, refused: bool = False) -> None:
        """The one-line outcome of the last action; refusals stand out."""
        message = self.query_one("#message", Static)
        message.update(text)
        self.waiting_shown = False
        message.set_class(refused, "refused")

    # which actions apply

    def why_not(self, action: str) -> str | None:
        """Why `action` does not apply now (its button is greyed out), or None when it does."""
        if self.desk is None:
            return self.t("counter_why_not_connected")
        if self.lost:
            return self.lost
        if not self.holding:
            return self.t("counter_opening")
        if self.busy:
            return self.t(BUSY)
        state = self.desk.counter
        paused = state.state == "paused"
        if action in WITH_VISITOR and state.current is None:
            return self.t("counter_why_no_visitor")
        if action in ("next", "call_number") and paused:
            return self.t("counter_why_paused")
        if action == "next" and state.current is None and not self.desk.upcoming:
            return self.t(NOBODY_WAITING)
        if action == "pause" and state.current is not None:
            return self.t("counter_why_finish_first", ticket=state.current.number)
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The counter's keys are off while a dialog is open (its keys are the dialog's)."""
        if action in self.ACTIONS:
            return self.desk is not None and not self.lost and len(self.screen_stack) == 1
        return True

    async def run_action(self, action, *args, **kwargs):
        """A key or button of an action that does not apply says why instead of acting."""
        reason = action in self.ACTIONS and self.why_not(action)
        if reason == self.t(NOBODY_WAITING):
            pass  # the screen may be a poll behind a new ticket: the engine answers
        elif reason == self.t(BUSY):
            return False  # the action in flight answers first
        elif reason:
            self.say(reason, refused=True)
            self.load()  # the screen may be a poll behind
            return False
        return await super().run_action(action, *args, **kwargs)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        await self.run_action(event.button.id)

    # the clerk's actions

    def shown_number(self) -> str | None:
        """The number on the clerk's screen: the engine refuses if it is no longer current."""
        current = self.desk.counter.current if self.desk else None
        return None if current is None else current.number

    def act(self, what, done, then=None, **refused) -> None:
        """Run `what(engine)` in a worker; its outcome comes back as a message, never raised.

        `done(result)` words the outcome; `then(result)` follows on the screen's thread;
        `refused` are the facts `explain` needs to word a refusal (current, number, service).
        """
        if self.lost:  # taken over: a dialog still open on this screen must not act
            self.say(self.lost, refused=True)
            return
        self.busy = True
        self._expect_answer()
        self.show()  # every action off until it answers
        self.operate(what, done, then, refused)

    @work(thread=True, exclusive=True, exit_on_error=False, group="database")
    def operate(self, what, done, then, refused: dict) -> None:
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                try:
                    result = what(engine)
                except Refused as error:
                    self.post_message(ActionRefused(self.explain(engine, error, **refused)))
                    return
            text = done(result)  # in the try: a formatting bug must end the action too
        except StorageError as error:
            self.post_message(DatabaseFailed(error))
        except LoketError as error:
            self.post_message(ActionRefused(f"{self.t('counter_refused')} {error}"))
        except Exception as error:  # the app must never stay busy
            self.post_message(DatabaseFailed(error))
        else:
            self.post_message(ActionDone(text, result, then))

    def explain(
        self,
        engine: Engine,
        error: Refused,
        current=None,
        number=None,
        service=None,
        reinstating=None,
    ) -> str:
        """A refusal in the clerk's words, from what the database says now; else the engine's."""
        if reinstating is not None:
            return self._explain_reinstate(engine, reinstating, error)
        state = engine.counter_state(self.counter_id)
        if current and state.current is None:
            return self.t("counter_refused_handled", ticket=current, counter=state.name)
        if current and state.current.number != current:
            return self.t(
                "counter_refused_serving",
                counter=state.name,
                ticket=state.current.number,
                number=current,
            )
        if state.state == "paused" and number is not None:
            return self.t("counter_why_paused")
        if number is not None:
            return self._explain_number(engine, number)
        if service is not None:
            return self._explain_service(engine, service, error)
        return f"{self.t('counter_refused')} {error}"

    def _explain_number(self, engine: Engine, number: str) -> str:
        try:
            ticket = engine.ticket(number)
        except Refused:
            return self.t("counter_refused_no_ticket", ticket=number.upper())
        if ticket.status == CALLED:
            desk = engine.office.counters.get(ticket.counter)
            name = desk.name if desk else ticket.counter
            return self.t("counter_refused_called_at", ticket=ticket.number, counter=name)
        key = REFUSED_STATUS.get(ticket.status)
        return (
            self.t(key, ticket=ticket.number) if key else self.t("counter_refused") + f" {number}"
        )

    def _explain_reinstate(self, engine: Engine, number: str, error: Refused) -> str:
        """Why the office's no-show policy does not take this ticket back."""
        try:
            ticket = engine.ticket(number)
        except Refused:
            return self.t("counter_refused_no_ticket", ticket=number.upper())
        if ticket.status != NO_SHOW:
            return self._explain_number(engine, number)
        policy = engine.office.no_show
        if policy.requeue == "none":
            return self.t("counter_reinstate_never")
        if ticket.reinstated >= policy.times:
            return self.t("counter_reinstate_times", ticket=ticket.number, count=ticket.reinstated)
        if self.clock() - ticket.finished_at > timedelta(minutes=policy.reinstate_minutes):
            minutes = policy.reinstate_minutes
            return self.t("counter_reinstate_too_late", ticket=ticket.number, minutes=minutes)
        return f"{self.t('counter_refused')} {error}"

    def _explain_service(self, engine: Engine, code: str, error: Refused) -> str:
        line = next(s for s in engine.services() if s.code == code)
        if line.full_today and line.opens_at is not None:
            return self.t("counter_refused_full", series=code, when=self._when(line.opens_at))
        if not line.open_now and line.opens_at is None:
            return self.t("counter_refused_closed_today", series=code)
        if not line.open_now:
            return self.t("counter_refused_closed", series=code, when=self._when(line.opens_at))
        if line.limit_reached:
            return self.t("counter_refused_limit", series=code)
        return f"{self.t('counter_refused')} {error}"

    def _when(self, opening: datetime) -> str:
        """An opening time as said in the clerk's language: today at 13:00, or a later day."""
        time = f"{opening:%H:%M}"
        if opening.date() == self.local(self.clock()).date():
            return self.t("today_at", time=time)
        return self.t("on_day_at", day=texts.day_text(self.language, opening.date()), time=time)

    def _expect_answer(self) -> None:
        """Tell the clerk if the database does not answer soon (another program holds it)."""
        if self.waiting_timer is None:
            self.waiting_timer = self.set_timer(WAIT_NOTICE_SECONDS, self._show_waiting)

    def _show_waiting(self) -> None:
        self.waiting_timer = None
        if self.busy or self.reading:
            self.say(self.t(BUSY))
            self.waiting_shown = True

    def _answered(self) -> None:
        if self.busy or self.reading:
            return
        if self.waiting_timer is not None:
            self.waiting_timer.stop()
            self.waiting_timer = None
        if self.waiting_shown:
            self.say("")

    def end_action(self) -> None:
        self.busy = False
        self._answered()

    def on_action_done(self, message: ActionDone) -> None:
        self.end_action()
        self.say(message.text)
        self.load()
        if message.then is not None:
            message.then(message.result)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.end_action()
        self.say(message.text, refused=True)
        self.load()

    def on_database_failed(self, message: DatabaseFailed) -> None:
        self.reading, self.read_again = False, None
        self.claiming = self.telling = False
        self.end_action()
        self.unavailable(message.error)

    def call_text(self, call: Call) -> str:
        """What a call did: the visitor it finished (or who did not come), then the one called."""
        said = []
        if call.finished is not None:
            missed = call.finished.status == NO_SHOW
            said.append(
                self.t(
                    "counter_no_show_done" if missed else "counter_done",
                    ticket=call.finished.number,
                )
            )
        if call.called is None:
            said.append(self.t(NOBODY_WAITING))
        else:
            said.append(self.t("counter_called", ticket=call.called.number))
        return " ".join(said)

    def action_next(self) -> None:
        current = self.desk.counter.current
        if current is not None and rules.unconfirmed_visit(current, self.clock()):
            self.ask_whether_visitor_came(current)
        else:
            self.next_visitor(self.shown_number())

    def next_visitor(self, current: str | None) -> None:
        self.act(
            lambda engine: engine.call_next(self.counter_id, current),
            self.call_text,
            current=current,
        )

    def ask_whether_visitor_came(self, ticket: Ticket) -> None:
        """Called moments ago, or called again: "Next" asks before it counts the visit as served."""
        said = [self.t("counter_called_ago", time=_clock(self.clock() - ticket.called_at))]
        if ticket.recalls:
            said.append(self.t("counter_recalled", count=ticket.recalls))
        question = Question(
            self.language,
            self.t("counter_visit_question", ticket=ticket.number),
            [
                ("done", self.t("counter_visit_served"), ACTION_KEYS["done"]),
                ("no_show", self.t("counter_visit_not_come"), ACTION_KEYS["no_show"]),
                ("back", self.t("counter_back"), "escape"),
            ],
            said=" · ".join(said),
            help_text=self.t("counter_visit_help"),
        )
        self.push_screen(question, lambda answer: self._visitor_came(ticket.number, answer))

    def _visitor_came(self, number: str, answer: str | None) -> None:
        if answer == "done":
            self.next_visitor(number)
        elif answer == "no_show":
            self.act(
                lambda engine: engine.call_next(self.counter_id, number, came=False),
                self.call_text,
                current=number,
            )

    def action_recall(self) -> None:
        current = self.shown_number()
        self.act(
            lambda engine: engine.recall(self.counter_id, current),
            lambda ticket: self.t("counter_called_again", ticket=ticket.number),
            current=current,
        )

    def action_done(self) -> None:
        current = self.shown_number()
        self.act(
            lambda engine: engine.finish(self.counter_id, current),
            lambda ticket: self.t("counter_done", ticket=ticket.number),
            current=current,
        )

    def action_no_show(self) -> None:
        current = self.shown_number()
        self.act(
            lambda engine: engine.no_show(self.counter_id, current),
            lambda ticket: self.t("counter_no_show_done", ticket=ticket.number),
            current=current,
        )

    def action_transfer(self) -> None:
        current = self.desk.counter.current
        choices = [
            (code, self.service_name(code))
            for code in self.office.services
            if code != current.service
        ]
        title = self.t("counter_transfer_title", ticket=current.number)
        self.push_screen(ChooseService(self.language, title, choices), self._transfer)

    def _transfer(self, service: str | None) -> None:
        if service is None:
            return
        current = self.shown_number()
        self.act(
            lambda engine: engine.transfer(self.counter_id, service, current),
            lambda ticket: self.t("counter_transferred", ticket=ticket.number, series=service),
            current=current,
        )

    def action_call_number(self) -> None:
        dialog = TypeCode(
            self.language, self.t("counter_call_title"), self.t("counter_call_help"), "A012"
        )
        self.push_screen(dialog, self._call_number)

    def _call_number(self, number: str | None) -> None:
        if not number:
            return
        current = self.shown_number()
        self.act(
            lambda engine: self._call_or_missed(engine, number, current),
            lambda result: self.call_text(result) if isinstance(result, Call) else "",
            then=self.offer_reinstate,
            current=current,
            number=number,
        )

    def _call_or_missed(self, engine: Engine, number: str, current: str | None) -> Call | Ticket:
        """Call `number`; a no-show the office may take back is returned instead, to offer that."""
        ticket = engine.ticket(number)
        if ticket.status == NO_SHOW and engine.office.no_show.requeue != "none":
            return ticket
        return engine.call_number(self.counter_id, number, current)

    def offer_reinstate(self, result: Call | Ticket) -> None:
        """A visitor who did not come when called is here after all: back in line?"""
        if isinstance(result, Call):
            return
        question = Question(
            self.language,
            self.t("counter_reinstate_question", ticket=result.number),
            [
                ("reinstate", self.t("counter_reinstate_button"), "enter"),
                ("cancel", self.t("counter_cancel"), "escape"),
            ],
            help_text=self.t("counter_reinstate_help"),
        )
        self.push_screen(question, lambda answer: answer and self.reinstate(result.number))

    def reinstate(self, number: str) -> None:
        self.act(lambda engine: engine.reinstate(number), self.reinstated_text, reinstating=number)

    def reinstated_text(self, receipt: Receipt) -> str:
        number, position = receipt.ticket.number, receipt.position
        minutes = receipt.estimated_wait_minutes
        if not minutes:  # unknown, or called at once: no "about 0 min"
            return self.t("counter_reinstated_unknown_wait", ticket=number, position=position)
        return self.t("counter_reinstated", ticket=number, position=position, minutes=minutes)

    def action_pause(self) -> None:
        if self.desk.counter.state == "paused":
            self.act(
                lambda engine: engine.resume(self.counter_id), lambda _: self.t("counter_resumed")
            )
        else:
            self.act(
                lambda engine: engine.pause(self.counter_id),
                lambda _: self.t("counter_paused_hint"),
            )

    # a ticket for a visitor who cannot use the kiosk

    def action_issue(self) -> None:
        choices = [
            (code, self.service_name(code))
            for code, svc in self.office.services.items()
            if svc.walk_in
        ]
        title = self.t("counter_issue_title")
        self.push_screen(ChooseService(self.language, title, choices, priority=True), self._issue)

    def _issue(self, choice: tuple[str, bool] | None) -> None:
        if choice is None:
            return
        service, priority = choice
        self.act(
            lambda engine: engine.issue_ticket(service, priority=priority),
            lambda receipt: _issued_text(self.language, receipt),
            then=self.hand_out,
            service=service,
        )

    def hand_out(self, receipt: Receipt) -> None:
        """Print the ticket; without a printer, show it large for the visitor to note."""
        if self.printer_spec == "none":
            self.show_ticket(receipt)
        else:
            self.print_ticket(
                receipt,
                printed_ticket(
                    receipt,
                    self.office,
                    self.language,
                    self.engine.visitor_url(receipt.ticket, self.language),
                ),
                self.office.kiosk.printer_profile,
            )

    def show_ticket(self, receipt: Receipt, note: str | None = None) -> None:
        lines = [
            *ticket_lines(receipt, self.office, self.language).values(),
            *([note] if note else []),
        ]
        self.push_screen(TicketShown(self.language, receipt.ticket.number, lines))

    @work(thread=True, exit_on_error=False, group="printer")
    def print_ticket(self, receipt: Receipt, printed, profile: str) -> None:
        """Print in a worker: a slow or absent printer never holds up the desk."""
        from loket.printing import PrinterError, open_printer

        # Not `exclusive`: that would cancel a ticket still to print, and cannot stop a
        # thread already printing. The lock makes a second ticket wait for the first.
        with self.printer_lock:
            try:
                if self.printer is None:
                    self.printer = open_printer(self.printer_spec, profile)
                self.printer.print_ticket(printed)
            except (PrinterError, ValueError) as error:
                number = receipt.ticket.number
                log.error("printer fault, ticket %s not printed: %s", number, error)
                self.post_message(PrinterFailed(receipt))
            else:
                self.post_message(TicketPrinted(receipt))

    def on_ticket_printed(self, message: TicketPrinted) -> None:
        self.say(
            self.t(
                "counter_printed",
                ticket=message.receipt.ticket.number,
                position=message.receipt.position,
            )
        )

    def on_printer_failed(self, message: PrinterFailed) -> None:
        number = message.receipt.ticket.number
        self.say(self.t("counter_printer_failed", ticket=number), refused=True)
        if self.engine is not None:
            self.show_ticket(message.receipt, note=self.t("note_number"))

    # an appointment checked in at the desk

    def action_check_in(self) -> None:
        dialog = TypeCode(
            self.language,
            self.t("counter_checkin_title"),
            self.t("counter_checkin_help"),
            "7KQM-3XTB",
            prompt=self.t("counter_checkin_prompt"),
        )
        self.push_screen(dialog, self._check_in)

    def _check_in(self, code: str | None) -> None:
        if not code:
            return
        self.act(lambda engine: engine.check_in(code), self.check_in_text, then=self._checked_in)

    def check_in_text(self, result: CheckIn) -> str:
        """A check-in's outcome for the clerk: the kiosk's outcomes, in the clerk's words."""
        at = "" if result.appointment_at is None else f"{self.local(result.appointment_at):%H:%M}"
        number = result.receipt.ticket.number if result.receipt else result.number
        if result.outcome == "too_late":
            key = (
                "counter_checkin_late_ticket" if result.receipt else "counter_checkin_late_refused"
            )
            return self.t(key, time=at, ticket=number)
        if result.outcome == "too_early":
            return self.t(
                "counter_checkin_too_early", time=f"{self.local(result.allowed_from):%H:%M}"
            )
        if result.outcome == "other_day":
            day = texts.day_text(self.language, date.fromisoformat(result.day))
            return self.t("counter_checkin_other_day", day=day)
        if result.outcome == "called_now":
            return self.t("counter_checkin_called_now", ticket=number, counter=result.counter)
        if result.appointment_at is None and result.outcome in SCANNED_TICKET_TEXTS:
            return self.t(SCANNED_TICKET_TEXTS[result.outcome], ticket=number)
        return self.t(CHECKIN_TEXTS[result.outcome], time=at, ticket=number)

    def _checked_in(self, result: CheckIn) -> None:
        """Show the outcome; a ticket in line may be called here at once."""
        paused = self.desk is None or self.desk.counter.state == "paused"
        # A no-show back in line waits where the office's policy put it.
        offer = result.receipt is not None and result.outcome != "reinstated"
        call = result.receipt.ticket.number if offer and not paused else None
        outcome = Outcome(self.language, self.check_in_text(result), call, self.shown_number())
        self.push_screen(outcome, lambda now: now and self._call_number(call))

    # who is at the desk

    def claim_desk(self, take_over: bool = False) -> None:
        """Hold the desk for this app: the counter opens; another screen holding it is asked about."""
        if self.engine is None or self.holding or self.claiming or self.lost:
            return
        self.claiming = True
        self.open_desk(take_over)

    @work(thread=True, exit_on_error=False, group="presence")
    def open_desk(self, take_over: bool) -> None:
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                self._refuse_if_removed(engine)
                engine.open_desk(self.counter_id, self.session, take_over=take_over)
        except DeskInUse as held:
            self.post_message(DeskHeld(held))
        except Exception as error:  # LoketError, or a bug: the app must never stay stuck
            self.post_message(DatabaseFailed(error))
        else:
            self.post_message(DeskOpened())

    def on_desk_opened(self, message: DeskOpened) -> None:
        self.claiming, self.holding = False, True
        self.load()

    def on_desk_held(self, message: DeskHeld) -> None:
        self.claiming = False
        held = message.held
        said = " ".join(
            [
                self.t(
                    "counter_desk_in_use",
                    counter=held.counter_name,
                    time=f"{self.local(held.since):%H:%M}",
                ),
                self.t("counter_last_seen", time=f"{self.local(held.seen_at):%H:%M:%S}"),
            ]
        )
        self.push_screen(DeskInUseDialog(self.language, said), self._desk_in_use)

    def _desk_in_use(self, take_over: bool | None) -> None:
        if take_over:
            self.claim_desk(take_over=True)
        else:
            self.exit()  # the other screen keeps the desk

    def tell_presence(self) -> None:
        """Say the clerk is still here, every PRESENCE_INTERVAL_SECONDS."""
        if self.engine is None or not self.holding or self.telling or self.leaving:
            return
        self.telling = True
        self.still_here()

    @work(thread=True, exit_on_error=False, group="presence")
    def still_here(self) -> None:
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                held = engine.heartbeat(self.counter_id, self.session)
        except LoketError as error:
            # The desk stays present for PRESENCE_TIMEOUT_SECONDS: the next tick tries again,
            # and the clerk's screen goes on meanwhile.
            log.warning("could not tell the database the desk is still here: %s", error)
            self.post_message(PresenceMissed())
        except Exception as error:  # a bug: said, and logged with its traceback
            self.post_message(DatabaseFailed(error))
        else:
            self.post_message(StillHere() if held else DeskLost())

    def on_still_here(self, message: StillHere) -> None:
        self.telling = False

    def on_presence_missed(self, message: PresenceMissed) -> None:
        self.telling = False

    def on_desk_lost(self, message: DeskLost) -> None:
        self.telling = self.holding = False
        name = (
            self.desk.counter.name
            if self.desk
            else self.t("counter_title", counter=self.counter_id)
        )
        self.lost = self.t(
            "counter_taken_over", counter=name, time=f"{self.local(self.clock()):%H:%M}"
        )
        while len(self.screen_stack) > 1:  # its dialogs would act for the other screen's desk
            self.pop_screen()
        self.show()

    async def action_quit(self) -> None:
        """Ctrl+Q quits at once; with a visitor at the counter it asks first."""
        number = self.shown_number()
        if number is None or not self.holding or isinstance(self.screen, ConfirmQuit):
            self.leave()
            return
        self.push_screen(ConfirmQuit(self.language, number), lambda quit: quit and self.leave())

    def leave(self) -> None:
        """Leave the desk (it pauses), then quit."""
        if not self.holding:
            self.exit()
        elif not self.leaving:
            self.leaving = True
            self.leave_desk()

    @work(thread=True, exit_on_error=False, group="leave")
    def leave_desk(self) -> None:
        self.leave_now()
        self.call_from_thread(self.exit)

    def leave_now(self) -> None:
        """Leave the desk paused, on the calling thread; quitting goes on if it fails."""
        if not self.holding:
            return
        self.holding = False
        try:
            with operation_engine(self.db_path, self.clock, self.engine) as engine:
                engine.leave_desk(self.counter_id, self.session)
        except Exception as error:  # the desk counts as away by itself after a while
            log.warning("could not leave the desk: %s", error)

    def hung_up(self) -> None:
        """The terminal is gone (a closed window, an ssh drop): leave the desk, then end.

        It ends as a hangup ends a program, at once: Textual's shutdown could block forever
        writing the terminal's reset to a terminal that is gone.
        """
        self.leave_now()
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)  # back to the default
        os.kill(os.getpid(), signal.SIGHUP)

    def action_help_quit(self) -> None:
        """Ctrl+C: say how to quit, in the clerk's language."""
        self.say(self.t("counter_quit_hint"))

    def on_unmount(self) -> None:
        self.leave_now()  # closed another way: still leave the desk paused
        if self.engine is not None:
            self.engine.close()


def _issued_text(language: str, receipt: Receipt) -> str:
    return text(language, "counter_issued", ticket=receipt.ticket.number, position=receipt.position)


def _minutes(span: timedelta) -> int:
    return max(0, int(span.total_seconds() // 60))


def _clock(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"
