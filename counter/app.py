"""The counter app: one desk's ticket, its line, and the clerk's actions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from counter.dialogs import CallNumber, ChooseService
from loket.engine import Desk, Engine
from loket.errors import LoketError, Refused, StorageError
from loket.model import APPOINTMENT, Ticket, utc_now
from tui.bignumber import BigNumber
from tui.theme import use_high_contrast
from tui.watch import ChangeWatcher, Retry
from tui.worker import WAIT_NOTICE_SECONDS, DatabaseFailed, operation_engine

log = logging.getLogger("loket.counter")

# Actions that need a visitor at the counter.
WITH_VISITOR = {"recall", "done", "no_show", "transfer"}
RETRY_SECONDS = 2.0
WAITING = "One moment: another program is using the database. Waiting…"
# A bug is no lost connection: the clerk reads this, the traceback goes to the log.
BUG = "Something went wrong; the details are in the log. Retrying…"
NOBODY_WAITING = "Nobody is waiting."


@dataclass
class ActionDone(Message):
    """An action was committed; `text` says what it did."""

    text: str


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


class CounterApp(App):
    """The clerk's screen for one counter; every action is a button and a key."""

    CSS_PATH = "counter.tcss"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-wide")]
    BINDINGS = [
        Binding("n", "next", "Next", id="next"),
        Binding("r", "recall", "Recall", id="recall"),
        Binding("d", "done", "Done", id="done"),
        Binding("x", "no_show", "No-show", id="no_show"),
        Binding("t", "transfer", "Transfer", id="transfer"),
        Binding("c", "call_number", "Call number", id="call_number"),
        Binding("p", "pause", "Pause/Resume", id="pause"),
        Binding("i", "issue", "Ticket for a visitor", id="issue"),
    ]
    ACTIONS = frozenset(binding.action for binding in BINDINGS)
    BUTTONS = [
        ("next", "Next (n)"),
        ("recall", "Recall (r)"),
        ("done", "Done (d)"),
        ("no_show", "No-show (x)"),
        ("transfer", "Transfer (t)"),
        ("call_number", "Call number (c)"),
        ("pause", "Pause (p)"),
        ("issue", "Visitor ticket (i)"),
    ]

    def __init__(
        self,
        db_path: str,
        counter: str,
        clock=utc_now,
        watch_interval: float = 0.2,
        tick_interval: float = 1.0,
    ):
        """`clock` and the intervals are for tests; a counter keeps the defaults."""
        super().__init__()
        self.db_path = str(db_path)
        self.counter_id = counter
        self.clock = clock
        self.watch_interval = watch_interval
        self.tick_interval = tick_interval
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

    def compose(self) -> ComposeResult:
        # Names, numbers and refusals from the config or the database are plain text:
        # with markup, a name holding "[/]" would crash the app and "[b]" would turn bold.
        with Horizontal(id="top"):
            yield Static(f"Counter {self.counter_id}", id="name", markup=False)
            yield Static("", id="state")
            yield Static("", id="clock")
        with Horizontal(id="middle"):
            with Vertical(id="current"):
                yield Static("Now at the counter", classes="heading")
                yield BigNumber(id="number")
                yield Static("", id="details", markup=False)
            with Vertical(id="line"):
                yield Static("Waiting", classes="heading")
                yield Static("", id="queue", markup=False)
        yield Static("", id="message", markup=False)
        with Horizontal(id="actions"):
            for action, label in self.BUTTONS:
                yield Button(label, id=action, classes="action")

    # the database

    def on_mount(self) -> None:
        use_high_contrast(self)
        self.connect()
        # Timers on the screen stop with it, before the app tears down its widgets.
        self.screen.set_interval(self.watch_interval, self.follow_changes)
        self.screen.set_interval(self.tick_interval, self.tick)

    def connect(self) -> None:
        """Open the shared database; on failure say so and keep retrying."""
        try:
            self.engine = Engine(self.db_path, clock=self.clock, create=False)
        except LoketError as error:
            self.unavailable(error)
            return
        self.watcher = ChangeWatcher(self.engine)
        self.reconnected, self.problem = self.problem is not None, None
        self.load()  # an office without this counter makes it unavailable again

    def unavailable(self, error: Exception) -> None:
        """No usable database: every action off, a plain message, retries in the background."""
        if isinstance(error, LoketError):
            log.warning("database unavailable: %s", error)
            self.problem = f"Not connected: {error}. Retrying…"
        else:
            log.error("counter operation failed", exc_info=error)
            self.problem = BUG
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
            if self.engine.refresh_config() and self.counter_id not in self.office.counters:
                raise Refused(f"counter {self.counter_id} was removed from the office config")
        except LoketError as error:
            self.unavailable(error)
            return
        self.load(news=True)

    def load(self, news: bool = False) -> None:
        """Re-read the desk in a worker; the answer comes back as DeskRead."""
        if self.engine is None:
            return
        if self.reading:
            self.read_again = bool(self.read_again) or news
            return
        self.reading = True
        self._expect_answer()
        self.read_desk(news)

    @work(thread=True, exit_on_error=False, group="read")
    def read_desk(self, news: bool) -> None:
        # The first read of a day closes yesterday's tickets, which waits for the write
        # lock: never on the screen's thread.
        try:
            with operation_engine(self.db_path, self.clock) as engine:
                desk = engine.desk(self.counter_id)
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
        before = self.shown_number()
        self.desk, self.loaded_day = message.desk, message.day
        self.show()
        after = self.shown_number()
        if self.reconnected:
            self.reconnected = False
            self.say("Connected.")
        elif message.news and not self.busy and after != before:  # `loket call 1` in a shell
            self.say(
                f"{after} was called to this counter from elsewhere."
                if after
                else f"{before} was handled elsewhere."
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
            self.query_one("#state", Static).update("PAUSED" if paused else "OPEN")
            self.query_one("#state").set_class(paused, "paused")
            self.query_one("#pause", Button).label = "Resume (p)" if paused else "Pause (p)"
            self.query_one("#number", BigNumber).show(state.current.number if state.current else "")
            self.query_one("#queue", Static).update(self.line_text(desk))
        self.tick()
        if self.problem:
            self.say(self.problem, refused=True)
        for button in self.query(".action").results(Button):
            button.disabled = self.why_not(button.id) is not None
        self.refresh_bindings()

    def tick(self) -> None:
        """Times that move on their own: the clock and how long the visitor waited and stands."""
        now = self.clock()
        if self.engine is not None:
            self.timezone = self.office.timezone  # kept for when it is unavailable
            # The local date, not the engine's today(): that also weighs the latest day this
            # engine saw in the database, which the workers' fresh engines may see later.
            if (
                self.loaded_day is None
                or self.engine.local(now).date().isoformat() > self.loaded_day
            ):
                self.load()  # a new service day: yesterday's visitor is gone
                self.query_one("#details", Static).update("")
                return
        self.query_one("#clock", Static).update(f"{now.astimezone(self.timezone):%H:%M}")
        current = self.desk.counter.current if self.desk else None
        if self.desk is not None and current is None:
            hint = "Paused." if self.desk.counter.state == "paused" else "No visitor."
            self.query_one("#details", Static).update(hint)
        elif current is not None:
            self.query_one("#details", Static).update(self.ticket_text(current, now))

    def ticket_text(self, ticket: Ticket, now: datetime) -> str:
        """Service, kind, appointment time, waited, called since, recalls."""
        service = self.office.services[ticket.service].name(self.office.languages[0])
        kinds = ["appointment" if ticket.kind == APPOINTMENT else "walk-in"]
        if ticket.priority:
            kinds.append("priority")
        lines = [f"{ticket.service}  {service}", " · ".join(kinds)]
        if ticket.appointment_at is not None:
            lines.append(f"Appointment at {self.engine.local(ticket.appointment_at):%H:%M}")
        waited = (ticket.first_called_at or now) - ticket.arrived_at
        lines.append(f"Waited {_minutes(waited)}")
        if ticket.called_at is not None:
            lines.append(f"Called {_clock(now - ticket.called_at)} ago")
        if ticket.recalls:
            lines.append(f"Recalled {ticket.recalls}×")
        return "\n".join(lines)

    def line_text(self, desk: Desk) -> str:
        """Per service the number waiting, then the longest wait, the next numbers, the tally."""
        language = self.office.languages[0]
        lines = [
            f"{code}  {count:>3}  {self.office.services[code].name(language)}"
            for code, count in desk.waiting.items()
        ]
        if desk.longest_waiting_since is not None:
            longest = self.clock() - desk.longest_waiting_since
            lines.append(f"Longest wait: {_minutes(longest)}")
        upcoming = " ".join(t.number + ("*" if t.priority else "") for t in desk.upcoming)
        lines.append(f"Next: {upcoming or '-'}")
        lines.append(f"Served today: {desk.served_today}")
        return "\n".join(lines)

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
            return "Not connected to the database."
        if self.busy:
            return WAITING
        state = self.desk.counter
        paused = state.state == "paused"
        if action in WITH_VISITOR and state.current is None:
            return "There is no visitor at the counter."
        if action in ("next", "call_number") and paused:
            return "The counter is paused: resume it first (p)."
        if action == "next" and state.current is None and not self.desk.upcoming:
            return NOBODY_WAITING
        if action == "pause" and state.current is not None:
            return f"Finish {state.current.number} first (done, no-show or transfer)."
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The counter's keys are off while a dialog is open (its keys are the dialog's)."""
        if action in self.ACTIONS:
            return self.desk is not None and len(self.screen_stack) == 1
        return True

    async def run_action(self, action, *args, **kwargs):
        """A key or button of an action that does not apply says why instead of acting."""
        reason = action in self.ACTIONS and self.why_not(action)
        if reason == NOBODY_WAITING:
            pass  # the screen may be a poll behind a new ticket: the engine answers
        elif reason == WAITING:
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

    def act(self, what, done) -> None:
        """Run `what(engine)` in a worker; its outcome comes back as a message, never raised."""
        self.busy = True
        self._expect_answer()
        self.show()  # every action off until it answers
        self.operate(what, done)

    @work(thread=True, exclusive=True, exit_on_error=False, group="database")
    def operate(self, what, done) -> None:
        try:
            with operation_engine(self.db_path, self.clock) as engine:
                result = what(engine)
            text = done(result)  # in the try: a formatting bug must end the action too
        except StorageError as error:
            self.post_message(DatabaseFailed(error))
        except LoketError as error:
            self.post_message(ActionRefused(f"Refused: {error}"))
        except Exception as error:  # the app must never stay busy
            self.post_message(DatabaseFailed(error))
        else:
            self.post_message(ActionDone(text))

    def _expect_answer(self) -> None:
        """Tell the clerk if the database does not answer soon (another program holds it)."""
        if self.waiting_timer is None:
            self.waiting_timer = self.set_timer(WAIT_NOTICE_SECONDS, self._show_waiting)

    def _show_waiting(self) -> None:
        self.waiting_timer = None
        if self.busy or self.reading:
            self.say(WAITING)
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

    def on_action_refused(self, message: ActionRefused) -> None:
        self.end_action()
        self.say(message.text, refused=True)
        self.load()

    def on_database_failed(self, message: DatabaseFailed) -> None:
        self.reading, self.read_again = False, None
        self.end_action()
        self.unavailable(message.error)

    def action_next(self) -> None:
        def done(call) -> str:
            finished = f"{call.finished.number} done. " if call.finished else ""
            if call.called is None:
                return finished + "Nobody is waiting."
            return finished + f"Called {call.called.number}."

        current = self.shown_number()
        self.act(lambda engine: engine.call_next(self.counter_id, current), done)

    def action_recall(self) -> None:
        current = self.shown_number()
        self.act(
            lambda engine: engine.recall(self.counter_id, current),
            lambda ticket: f"Called {ticket.number} again.",
        )

    def action_done(self) -> None:
        current = self.shown_number()
        self.act(
            lambda engine: engine.finish(self.counter_id, current),
            lambda ticket: f"{ticket.number} done.",
        )

    def action_no_show(self) -> None:
        current = self.shown_number()
        self.act(
            lambda engine: engine.no_show(self.counter_id, current),
            lambda ticket: f"{ticket.number} marked as no-show.",
        )

    def action_transfer(self) -> None:
        current = self.desk.counter.current
        choices = [
            (code, svc.name(self.office.languages[0]))
            for code, svc in self.office.services.items()
            if code != current.service
        ]
        self.push_screen(ChooseService(f"Transfer {current.number} to", choices), self._transfer)

    def _transfer(self, service: str | None) -> None:
        if service is None:
            return
        current = self.shown_number()
        self.act(
            lambda engine: engine.transfer(self.counter_id, service, current),
            lambda ticket: f"{ticket.number} moved to the line of {service}; it keeps its number.",
        )

    def action_call_number(self) -> None:
        self.push_screen(CallNumber(), self._call_number)

    def _call_number(self, number: str | None) -> None:
        if not number:
            return

        def done(call) -> str:
            finished = f"{call.finished.number} done. " if call.finished else ""
            return finished + f"Called {call.called.number}."

        current = self.shown_number()
        self.act(lambda engine: engine.call_number(self.counter_id, number, current), done)

    def action_pause(self) -> None:
        if self.desk.counter.state == "paused":
            self.act(lambda engine: engine.resume(self.counter_id), lambda _: "Open again.")
        else:
            self.act(lambda engine: engine.pause(self.counter_id), lambda _: "Paused.")

    def action_issue(self) -> None:
        choices = [
            (code, svc.name(self.office.languages[0]))
            for code, svc in self.office.services.items()
            if svc.walk_in
        ]
        self.push_screen(ChooseService("Ticket for a visitor", choices, priority=True), self._issue)

    def _issue(self, choice: tuple[str, bool] | None) -> None:
        if choice is None:
            return
        service, priority = choice
        self.act(
            lambda engine: engine.issue_ticket(service, priority=priority),
            lambda receipt: (
                f"Ticket {receipt.ticket.number} issued: tell the visitor their number "
                f"({_ordinal(receipt.position)} in line)."
            ),
        )

    def on_unmount(self) -> None:
        if self.engine is not None:
            self.engine.close()


def _minutes(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    return f"{minutes} min"


def _clock(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _ordinal(position: int) -> str:
    suffix = (
        "th" if 10 <= position % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    )
    return f"{position}{suffix}"
