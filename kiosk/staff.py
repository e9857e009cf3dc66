"""Staff only: the PIN, reached by the configured key sequence, then the staff menu."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from kiosk.base import KioskScreen, TouchButton, touch_button


class StaffScreen(KioskScreen):
    """A screen for staff only: no speech keys, no larger-text key, no check-in."""


class PinScreen(StaffScreen):
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


MENU = ("priority", "close", "back")
"""The staff menu's buttons, in the order of their number keys (1, 2, 3)."""


class StaffMenu(StaffScreen):
    """After the right PIN: priority tickets on or off, close the kiosk, or back (touch or 1-3)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="notice", id="staff-menu"):
            yield Static(self.app.t("staff_title"), id="staff")
            for key, name in enumerate(MENU, start=1):
                yield touch_button(self.label(key, name), id=f"staff-{name}")

    def label(self, key: int, name: str) -> str:
        if name == "priority":
            on = self.app.priority_tickets
            return f"{key}  {self.app.t('staff_priority_on' if on else 'staff_priority_off')}"
        return f"{key}  {self.app.t(f'staff_{name}')}"

    def choose(self, name: str) -> None:
        if name == "priority":
            self.app.switch_priority_tickets()
            self.query_one("#staff-priority", TouchButton).update(self.label(1, "priority"))
        elif name == "close":
            self.app.close_kiosk()
        else:
            self.app.back_to_start()

    def on_touch_button_pressed(self, event: TouchButton.Pressed) -> None:
        self.choose((event.button.id or "").removeprefix("staff-"))

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            name = "back"
        elif event.character and event.character in "123":
            name = MENU[int(event.character) - 1]
        else:
            return
        event.prevent_default()  # not KioskScreen's: the key is no start of a scanned code
        self.choose(name)
