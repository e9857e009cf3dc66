"""Staff only: the PIN that closes the kiosk, reached by the configured key sequence."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from kiosk.base import KioskScreen


class StaffScreen(KioskScreen):
    """Asks for the PIN; a wrong one (or no input) goes back to the visitors' screens."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="notice"):
            yield Static(self.app.t("staff_pin"), id="staff")
            yield Input(password=True, id="pin", max_length=8, restrict=r"\d*")

    def on_mount(self) -> None:
        field = self.query_one("#pin", Input)
        field.cursor_blink = self.app.cursor_blink
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.app.staff_pin(event.value):
            self.app.back_to_start()
