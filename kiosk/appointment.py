"""Check-in for appointment holders: scan the QR code, or type the reference on a keypad."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Input, Static

from kiosk.base import KioskScreen, TouchButton, touch_button
from loket.codes import ALPHABET


class AppointmentScreen(KioskScreen):
    """A touch keypad with only the characters a reference can have, and a physical-keyboard field."""

    def compose(self) -> ComposeResult:
        app = self.app
        with Vertical(id="appointment"):
            yield Static(app.t("appointment_title"), id="title")
            yield Static(f"{app.t('scan_or_type')} {app.t('reference_example')}", id="explain")
            yield Input(id="reference", max_length=40)
            with Grid(id="keypad"):
                for character in sorted(ALPHABET, key=lambda c: (c.isdigit(), c)):
                    key = touch_button(character, f"key-{character}")
                    key.active_effect_duration = (
                        0  # else a second quick tap on the same key is lost
                    )
                    yield key
            with Horizontal(id="keypad-actions"):
                yield touch_button(app.t("back"), "back")
                yield touch_button(app.t("erase"), "erase")
                yield touch_button(app.t("check_in"), "check-in")

    def on_mount(self) -> None:
        field = self.query_one("#reference", Input)
        field.cursor_blink = self.app.cursor_blink  # off in snapshot tests
        field.focus()

    def on_touch_button_pressed(self, event: TouchButton.Pressed) -> None:
        field = self.query_one("#reference", Input)
        button_id = event.button.id or ""
        if button_id.startswith("key-"):
            field.insert_text_at_cursor(button_id.removeprefix("key-"))
            if len(field.value.replace("-", "")) == 4 and "-" not in field.value:
                field.insert_text_at_cursor("-")
        elif button_id == "erase":
            field.value = field.value[:-1]
        elif button_id == "back":
            self.app.back_to_start()
        elif button_id == "check-in":
            self.submit(field.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def submit(self, code: str) -> None:
        if code.strip():
            self.app.check_in(code)
