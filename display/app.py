"""The waiting-room display: the latest call in big glyphs, earlier calls, lines, the clock."""

from __future__ import annotations

import logging
import textwrap
from collections import deque
from contextlib import suppress
from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from display import layout
from display.bigtext import BigText
from loket import texts
from loket.announce import Announcer, Speak, SpeechUnavailable, announcement, espeak
from loket.engine import Engine
from loket.errors import LoketError, StorageError
from loket.model import Event, utc_now
from tui.theme import use_high_contrast
from tui.watch import ChangeWatcher, Retry

log = logging.getLogger("loket.display")

CALLS = ("call", "recall")
RETRY_SECONDS = 1.0
BATCH = 500  # events read per query while catching up


@dataclass(frozen=True)
class Shown:
    """One call as the display shows it: the number and the counter it goes to."""

    number: str
    counter: str


class DisplayApp(App):
    """Full-screen waiting-room display; it only reads the database, never writes."""

    CSS_PATH = "display.tcss"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        db_path: str,
        services: frozenset[str] = frozenset(),
        counters: frozenset[str] = frozenset(),
        voice: str | None = None,
        history: int = 6,
        clock=utc_now,
        speak: Speak | None = None,
        poll_interval: float = 0.05,
    ):
        """Empty `services`/`counters` mean all. `clock`, `speak` and the interval are for tests."""
        super().__init__()
        self.db_path = str(db_path)
        self.services = services
        self.counters = counters
        self.voice = voice
        self.clock = clock
        self.speak = speak
        self.poll_interval = poll_interval
        self.engine: Engine | None = None
        self.watcher: ChangeWatcher | None = None
        self.calls: deque[Shown] = deque(maxlen=history + 1)
        self.last_event = 0
        self.day = ""
        self.timezone = None  # the office's, once known; until then the machine's
        self.announcer: Announcer | None = None
        self.highlight_timer = None
        self.retry = Retry(RETRY_SECONDS)

    def compose(self) -> ComposeResult:
        # Names and the message come from the config: plain text, so "[/]" or "[b]" in them
        # is shown as written instead of crashing the display or changing its look.
        with Horizontal(id="top"):
            yield Static("", id="office", markup=False)
            yield Static("", id="clock")
        with Vertical(id="board"):
            with Vertical(id="now"):
                yield Static("", id="now-label")
                yield BigText(id="now-number")
                yield BigText(id="now-counter")
                yield Static("", id="now-text", markup=False)
            yield Static("", id="earlier-label")
            yield Static("", id="earlier", markup=False)
            yield Static("", id="earlier-big", markup=False)
            yield Static("", id="waiting", markup=False)
        yield Static("", id="unavailable")
        yield Static("", id="message", markup=False)

    # start-up and the database

    def on_mount(self) -> None:
        use_high_contrast(self)
        self.announcer = Announcer(self._voice(), chime=self._chime, warn=self._warn)
        self.connect()
        # Timers on the screen stop with it, before the app tears down its widgets.
        self.screen.set_interval(self.poll_interval, self.follow_changes)
        self.screen.set_interval(1.0, self.show_clock)

    def _voice(self) -> Speak | None:
        if self.speak is not None or self.voice is None:
            return self.speak
        try:
            return espeak(self.voice)
        except SpeechUnavailable as error:
            self._warn(f"Announcements without voice: {error}")
            return None

    def _chime(self) -> None:
        """The terminal's bell before each sentence; from the announcer's thread."""
        with suppress(RuntimeError):  # the app is closing
            self.call_from_thread(self.bell)

    def _warn(self, text: str) -> None:
        """Said once: logged for staff, and shown briefly on the screen."""
        log.warning(text)
        try:
            self.call_from_thread(self.notify, text, severity="warning", timeout=15, markup=False)
        except RuntimeError:  # called on the app's own thread
            self.notify(text, severity="warning", timeout=15, markup=False)

    def connect(self) -> None:
        """Open the shared database and show today's calls so far, without announcing them."""
        try:
            self.engine = Engine(self.db_path, clock=self.clock, create=False)
            self.watcher = ChangeWatcher(self.engine)
            self.watcher.changed()  # from here on, only what others commit
            self.load_today()
        except LoketError as error:
            self.unavailable(error)  # closes the engine if it did open
            return
        self.screen.set_class(False, "unavailable")

    def load_today(self) -> None:
        """Today's calls so far, newest on top, not announced: at start and after midnight."""
        # Read the position first: a call committed in between is then shown and announced.
        self.last_event = self.engine.last_event_id()
        calls = self.engine.calls_today(limit=500)
        self.day = self.engine.today()
        self.calls.clear()
        for event in reversed(calls):
            self.remember(event)
        self.show_office()
        self.show_calls()

    def unavailable(self, error: Exception) -> None:
        """Show the calm 'one moment' state instead of calls that may be stale; retry soon."""
        log.warning("database unavailable: %s", error)
        if self.engine is not None:
            self.engine.close()
        self.engine = self.watcher = None
        self.screen.set_class(True, "unavailable")
        self.show_unavailable()

    def follow_changes(self) -> None:
        """Poll data_version; read only the new events when another process committed."""
        if self.engine is None:
            if self.retry.due():
                self.connect()
            return
        try:
            if self.watcher.changed():
                if self.engine.refresh_config():
                    self.show_office()
                self.read_new_calls()
        except StorageError as error:
            self.unavailable(error)

    def read_new_calls(self) -> None:
        """Take in every new call, a batch at a time; announce the latest few."""
        to_announce: deque[Event] = deque(maxlen=Announcer.MAX_PENDING)
        while True:
            events = self.engine.events_after(self.last_event, CALLS, limit=BATCH)
            if events:
                self.last_event = events[-1].id
            to_announce.extend(filter(self.remember, events))
            if len(events) < BATCH:
                break
        for event in to_announce:
            self.announce(event)
        self.show_calls(fresh=bool(to_announce))

    # what is shown

    def wanted(self, event: Event) -> bool:
        """Calls for this screen's services and counters (all when no filter is set)."""
        return (not self.services or event.service in self.services) and (
            not self.counters or event.counter in self.counters
        )

    def remember(self, event: Event) -> bool:
        """Put one of this screen's calls on top (a number called again is not listed twice).

        False for a call this screen does not show.
        """
        if not self.wanted(event) or event.number is None:
            return False
        shown = Shown(event.number, event.counter or "")
        for earlier in [c for c in self.calls if c.number == shown.number]:
            self.calls.remove(earlier)
        self.calls.appendleft(shown)
        return True

    def announce(self, event: Event) -> None:
        language = self.voice or self.language
        self.announcer.announce(announcement(event.number, event.counter or "", language))

    @property
    def language(self) -> str:
        return self.engine.office.languages[0] if self.engine else texts.LANGUAGES[0]

    def t(self, key: str, **fields) -> str:
        return texts.text(self.language, key, **fields)

    def counter_name(self, counter: str) -> str:
        desk = self.engine.office.counters.get(counter)
        return desk.name if desk else f"{self.t('display_counter')} {counter}"

    def show_office(self) -> None:
        """What only a new office config changes: the name, the message, the headings."""
        office = self.engine.office
        self.query_one("#office", Static).update(office.name)
        self.query_one("#message", Static).update(office.display.message)
        self.query_one("#now-label", Static).update(self.t("display_now"))
        self.query_one("#earlier-label", Static).update(self.t("display_earlier"))

    def show_calls(self, fresh: bool = False) -> None:
        """The calls and the lines, after any change; `fresh` when a new call came in."""
        self.show_earlier(self.show_latest())
        self.query_one("#waiting", Static).update(self.waiting_text())
        self.show_clock()
        if fresh:
            self.highlight(self.engine.office.display.highlight_seconds)

    def show_latest(self) -> layout.Latest | None:
        """The latest call as big as the screen allows: "A012 > LOKET 3", or the counter below."""
        plan = self.latest_plan()
        number = self.query_one("#now-number", BigText)
        counter = self.query_one("#now-counter", BigText)
        if plan is None:
            number.show(())
            counter.show(())
            small = self.t("display_no_calls")
        else:
            number.show((plan.number,), plan.number_scale, plan.number_rows)
            counter.show(plan.counter, plan.counter_scale, plan.counter_rows)
            small = plan.small
        counter.styles.margin = (counter.scale, 0, 0, 0)  # a blank glyph row above the counter
        counter.display = bool(counter.lines)
        text = self.query_one("#now-text", Static)
        text.update(small)
        text.display = bool(small)
        return plan

    def latest_plan(self) -> layout.Latest | None:
        """How big the latest call fits on this screen; None before the first call."""
        if not self.calls:
            return None
        latest = self.calls[0]
        name = self.counter_name(latest.counter)
        return layout.latest_on_screen(latest.number, name, *self.size, self.message_rows())

    def message_rows(self) -> int:
        """Rows the message line takes: a long one wraps on a narrow screen."""
        message = self.engine.office.display.message
        return len(textwrap.wrap(message, self.size.width - 2)) if message else 0

    def show_earlier(self, latest: layout.Latest | None) -> None:
        """Earlier calls in glyphs smaller than the latest where all fit, else as a list."""
        earlier = list(self.calls)[1:]
        names = [layout.big_name(self.counter_name(call.counter)) for call in earlier]
        big = [f"{call.number} > {name}" for call, name in zip(earlier, names, strict=True)]
        plan = None
        if latest is not None and all(names):
            plan = layout.earlier_on_screen(big, *self.size, latest, self.message_rows())
        self.query_one("#earlier", Static).update(self.earlier_text())
        self.query_one("#earlier").display = plan is None
        drawing = self.query_one("#earlier-big", Static)
        drawing.update(layout.draw_earlier(big, plan) if plan else "")
        drawing.display = plan is not None

    def earlier_text(self) -> str:
        earlier = list(self.calls)[1:]
        return "\n".join(
            f"{call.number:<8} → {self.counter_name(call.counter)}" for call in earlier
        )

    def waiting_text(self) -> str:
        counts = self.engine.waiting_counts()
        shown = [code for code in counts if not self.services or code in self.services]
        return f"{self.t('display_waiting')}:  " + "   ".join(
            f"{code} {counts[code]}" for code in shown
        )

    def highlight(self, seconds: float) -> None:
        """The new call stands out for a few seconds."""
        now = self.query_one("#now")
        now.add_class("fresh")
        if self.highlight_timer is not None:
            self.highlight_timer.stop()
        self.highlight_timer = self.set_timer(seconds, lambda: now.remove_class("fresh"))

    def show_clock(self) -> None:
        """The clock; at the first tick of a new day, yesterday's calls leave the screen."""
        if self.engine is not None and self.engine.today() != self.day:
            try:
                self.load_today()
            except StorageError as error:
                self.unavailable(error)
                return
        if self.engine is not None:
            self.timezone = self.engine.office.timezone  # kept for when it is unavailable
        self.query_one("#clock", Static).update(f"{self.clock().astimezone(self.timezone):%H:%M}")

    def show_unavailable(self) -> None:
        """'One moment please' in every language: nothing that could be stale stays on screen."""
        self.query_one("#unavailable", Static).update(
            "\n\n".join(texts.text(language, "display_unavailable") for language in texts.LANGUAGES)
        )

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_to_screen)  # self.size is the new one only then

    def fit_to_screen(self) -> None:
        """Big glyphs on one line or two, earlier calls big or listed: whatever fits now."""
        if self.engine is not None:
            self.show_earlier(self.show_latest())

    def on_unmount(self) -> None:
        if self.announcer is not None:
            self.announcer.close()
        if self.engine is not None:
            self.engine.close()
