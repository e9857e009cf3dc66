"""Full-screen messages: a check-in outcome or refusal, and 'one moment please'."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kiosk.base import KioskScreen
from loket import texts

RETRY_SECONDS = 3


class NoticeScreen(KioskScreen):
    """One clear message; back to the start on a tap, Enter or Escape, or after the return delay."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="notice"):
            yield Static(self.message, id="notice")
            yield Static(self.app.t("touch_to_continue"), id="continue")

    def on_mount(self) -> None:
        self.set_timer(self.app.office.kiosk.return_seconds, self.app.end_visit_when_quiet)

    def on_key(self, event: events.Key) -> None:
        # KioskScreen.on_key runs too (Textual calls each class's handler): Enter is the app's.
        if event.key == "escape":
            self.app.back_to_start()  # the same visit: speech and language stay

    def on_click(self) -> None:
        self.app.back_to_start()


class UnavailableScreen(KioskScreen):
    """The database cannot be reached: a calm message in every language, retried by itself."""

    retries = True
    """Whether the screen itself asks the app to reconnect every few seconds."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="notice"):
            for language in texts.LANGUAGES:
                yield Static(texts.text(language, "unavailable"), classes="unavailable-text")

    def on_mount(self) -> None:
        if self.retries:
            self.set_interval(RETRY_SECONDS, self.app.retry)


class WaitingScreen(UnavailableScreen):
    """An operation waits for a database another program holds: the same calm message."""

    retries = False  # the waiting operation ends it, with its result
