"""Check-in for appointment holders: scan the QR code, or type the reference on a keypad."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Input, Static

from kiosk.base import KioskScreen, TouchButton, touch_button
from loket.codes import ALPHABET, REFERENCE_LENGTH

HALF = REFERENCE_LENGTH // 2
MAX_CODE_LENGTH = 500
"""A scanned booking link can be long; the check-in looks at no more than this."""


def _reference_characters(text: str) -> str | None:
    """A reference being typed, upper case without dashes; None if `text` cannot become one."""
    compact = text.replace("-", "").upper()
    if len(compact) > REFERENCE_LENGTH or not all(char in ALPHABET for char in compact):
        return None
    return compact


def reference_as_typed(text: str) -> str:
    """'7kqm3x' as '7KQM-3X', the way references are printed; any other code as typed.

    Only text that can still become a reference changes: a scanned payload or a booking
    system's own number is shown exactly as it came.
    """
    compact = _reference_characters(text)
    if compact is None:
        return text
    return compact if len(compact) <= HALF else f"{compact[:HALF]}-{compact[HALF:]}"


def code_to_check(typed: str) -> str:
    """What the visitor typed, for the check-in: a reference compact, anything else as typed."""
    return _reference_characters(typed.strip()) or typed.strip()


class ReferenceInput(Input):
    """The reference field: keeps what was typed, and shows it as 7KQM-3XTB while it can be one.

    The shown text is only a view: once the typed text can no longer be a reference (a
    booking number, a scanned link), it shows exactly what was typed, case and dashes too.
    """

    typed = ""
    """What the visitor typed or scanned, by keyboard or keypad, unformatted."""

    def replace(self, text: str, start: int, end: int) -> None:
        """Apply an edit of the shown text to the typed text, then show that."""
        start, end = sorted((max(0, start), min(len(self.value), end)))
        typed_start, typed_end = self._typed_index(start), self._typed_index(end)
        typed = f"{self.typed[:typed_start]}{text}{self.typed[typed_end:]}"
        if self.max_length and len(typed) > self.max_length:
            self.restricted()
            return
        self.typed = typed
        self.value = reference_as_typed(typed)
        self.cursor_position = self._shown_index(typed_start + len(text))

    def action_delete_left(self) -> None:
        """Erase the character before the cursor, never only a dash the field added."""
        if self._added_dash_at(self.cursor_position - 1):
            self.cursor_position -= 1
        super().action_delete_left()

    def action_delete_right(self) -> None:
        """Erase the character after the cursor, never only a dash the field added."""
        if self._added_dash_at(self.cursor_position):
            self.cursor_position += 1
        super().action_delete_right()

    def _added_dash_at(self, index: int) -> bool:
        """Whether the shown text has the field's own dash at `index` (and nothing is selected)."""
        formatted = _reference_characters(self.typed) is not None
        return (
            formatted
            and self.selection.is_empty
            and 0 <= index < len(self.value)
            and self.value[index] == "-"
        )

    def watch_value(self, value: str) -> None:
        if value != reference_as_typed(self.typed):  # set from outside, e.g. clear()
            self.typed = value

    def _typed_index(self, shown_index: int) -> int:
        """Where an index of the shown text falls in the typed text."""
        if _reference_characters(self.typed) is None:
            return shown_index
        before = len(self.value[:shown_index].replace("-", ""))
        # Just before the next character that is not a dash: a dash the visitor typed
        # after 'bk' stays before what they type next.
        return _index_after(self.typed, before, after_dashes=True)

    def _shown_index(self, typed_index: int) -> int:
        """Where an index of the typed text falls in the shown text."""
        if _reference_characters(self.typed) is None:
            return typed_index
        return _index_after(self.value, len(self.typed[:typed_index].replace("-", "")))


def _index_after(text: str, characters: int, after_dashes: bool = False) -> int:
    """The index in `text` just after its first `characters` characters that are not dashes.

    With `after_dashes`, past the dashes that follow them too.
    """
    seen = 0
    for index, char in enumerate(text):
        if seen == characters and (char != "-" or not after_dashes):
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
            yield ReferenceInput(id="reference", max_length=MAX_CODE_LENGTH)
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

    def takes(self, character: str) -> bool:
        """Whether the field takes this key: once typing began, any; before, a reference's."""
        return bool(self.query_one("#reference", ReferenceInput).typed) or (
            character.upper() in self.keys()
        )

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            self.app.back_to_start()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.app.guidance.field_changed(self.query_one("#reference", ReferenceInput).typed)

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
            self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        typed = self.query_one("#reference", ReferenceInput).typed
        if typed.strip():
            self.app.check_in(code_to_check(typed))
        else:
            self.app.guidance.nothing_typed()
