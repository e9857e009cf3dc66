"""Check-in for appointment holders: scan the QR code, or type the reference on a keypad."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Input, Static

from kiosk.base import KioskScreen, TouchButton, touch_button
from loket.codes import ALPHABET, REFERENCE_LENGTH

HALF = REFERENCE_LENGTH // 2


def _reference_characters(text: str) -> str | None:
    """A reference being typed, upper case without dashes; None if `text` cannot become one."""
    compact = text.replace("-", "").upper()
    if len(compact) > REFERENCE_LENGTH or not all(char in ALPHABET for char in compact):
        return None
    return compact


def reference_as_typed(text: str) -> str:
    """'7kqm3x' as '7KQM-3X', the way references are printed; any other code as typed.

    Only text that can still become a reference changes: a scanned payload or a booking
    system's own number is left exactly as it came.
    """
    compact = _reference_characters(text)
    if compact is None:
        return text
    return compact if len(compact) <= HALF else f"{compact[:HALF]}-{compact[HALF:]}"


def code_to_check(text: str) -> str:
    """What the field's text stands for: without the dash the field added to a reference.

    A booking system's number made only of reference characters (234567) gets a dash
    while typed; it must reach the check-in as the visitor typed it.
    """
    return _reference_characters(text.strip()) or text.strip()


class ReferenceInput(Input):
    """The reference field: whatever is typed into it, by keyboard or keypad, is shown formatted."""

    def replace(self, text: str, start: int, end: int) -> None:
        super().replace(text, start, end)
        shown = reference_as_typed(self.value)
        if shown != self.value:
            typed_before_cursor = len(self.value[: self.cursor_position].replace("-", ""))
            self.value = shown
            self.cursor_position = _index_after(shown, typed_before_cursor)


def _index_after(text: str, characters: int) -> int:
    """The index in `text` just after its first `characters` characters that are not dashes."""
    seen = 0
    for index, char in enumerate(text):
        if seen == characters:
            return index
        seen += char != "-"
    return len(text)


class AppointmentScreen(KioskScreen):
    """A touch keypad with only the characters a reference can have, and a physical-keyboard field."""

    def compose(self) -> ComposeResult:
        app = self.app
        with Vertical(id="appointment"):
            yield Static(app.t("appointment_title"), id="title")
            yield Static(f"{app.t('scan_or_type')} {app.t('reference_example')}", id="explain")
            yield ReferenceInput(id="reference", max_length=40)
            with Grid(id="keypad"):
                for character in sorted(self.keys(), key=lambda c: (c.isdigit(), c)):
                    key = touch_button(character, f"key-{character}")
                    key.active_effect_duration = (
                        0  # else a second quick tap on the same key is lost
                    )
                    yield key
            with Horizontal(id="keypad-actions"):
                yield touch_button(app.t("back"), "back")
                yield touch_button(app.t("erase"), "erase")
                yield touch_button(app.t("check_in"), "check-in")

    def keys(self) -> str:
        """A reference's characters; all digits too where booking numbers may be typed."""
        return ALPHABET + ("01" if self.app.office.check_in_by_uid else "")

    def on_mount(self) -> None:
        field = self.query_one("#reference", Input)
        field.cursor_blink = self.app.cursor_blink  # off in snapshot tests
        field.focus()

    def on_touch_button_pressed(self, event: TouchButton.Pressed) -> None:
        field = self.query_one("#reference", Input)
        button_id = event.button.id or ""
        if button_id.startswith("key-"):
            field.insert_text_at_cursor(button_id.removeprefix("key-"))
        elif button_id == "erase":
            field.action_end()
            field.action_delete_left()
        elif button_id == "back":
            self.app.back_to_start()
        elif button_id == "check-in":
            self.submit(field.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def submit(self, text: str) -> None:
        if text.strip():
            self.app.check_in(code_to_check(text))
