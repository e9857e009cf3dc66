"""The counter's dialogs, placed beside the visitor at the counter so that stays in view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from loket.texts import text
from tui.bignumber import BigNumber


def describe_bindings(node: DOMNode, describe: Callable[[str], str | None]) -> None:
    """Word `node`'s key bindings in the clerk's language: `describe(action)`, None keeps it."""
    keys = node._bindings.key_to_bindings  # Textual has no public way to reword a binding
    for key, bindings in keys.items():
        keys[key] = [replace(b, description=describe(b.action) or b.description) for b in bindings]


class Dialog(ModalScreen):
    """A small modal dialog in the clerk's language that Escape closes without an answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, language: str):
        super().__init__()
        self.language = language
        describe_bindings(
            self, lambda action: self.t("counter_cancel") if action == "cancel" else None
        )

    def t(self, key: str, **fields: object) -> str:
        """A text in the clerk's language."""
        return text(self.language, key, **fields)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChooseService(Dialog):
    """Pick a service from a list; the answer is its code, or (code, priority) with `priority`."""

    def __init__(
        self, language: str, title: str, services: list[tuple[str, str]], priority: bool = False
    ):
        super().__init__(language)
        self.title_text = title
        self.services = services
        self.ask_priority = priority

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield OptionList(  # service names from the config, shown as written
                *(Option(f"{code}  {name}", id=code) for code, name in self.services),
                id="services",
                markup=False,
            )
            if self.ask_priority:
                # Never focused: Enter always issues, `p` (or a click) ticks priority.
                priority = Checkbox(self.t("counter_priority_box"), id="priority")
                priority.can_focus = False
                yield priority
                yield Label(self.t("counter_issue_help"), classes="dialog-help")
            else:
                yield Label(self.t("counter_choose_help"), classes="dialog-help")

    def key_p(self) -> None:
        if self.ask_priority:
            self.query_one("#priority", Checkbox).toggle()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.ask_priority:
            self.dismiss((event.option.id, self.query_one("#priority", Checkbox).value))
        else:
            self.dismiss(event.option.id)


class TypeCode(Dialog):
    """Type a short code: a number to call out of turn (A012), or an appointment's reference."""

    def __init__(self, language: str, title: str, help_text: str, placeholder: str, prompt=""):
        super().__init__(language)
        self.title_text = title
        self.help_text = help_text
        self.placeholder = placeholder
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            if self.prompt:
                yield Label(self.prompt)
            yield Input(placeholder=self.placeholder, id="code", max_length=200)
            yield Label(self.help_text, classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = self.app.cursor_blink  # off in snapshot tests

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class Outcome(Dialog):
    """What a check-in gave, with the offer to call its ticket now: True when the clerk does."""

    BINDINGS = [Binding("enter", "accept", "Call now")]

    def __init__(self, language: str, said: str, call: str | None, finishes: str | None):
        super().__init__(language)
        self.said = said
        self.call = call
        self.finishes = finishes
        describe_bindings(
            self,
            lambda action: self.t("counter_call_now", ticket=call) if action == "accept" else None,
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.t("counter_checkin_title"), classes="dialog-title")
            yield Static(self.said, id="said", markup=False)
            if self.call is None:
                yield Label(self.t("counter_close_help"), classes="dialog-help")
                return
            if self.finishes:
                yield Static(self.t("counter_finishes_first", ticket=self.finishes), id="finishes")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.t("counter_call_now", ticket=self.call), id="accept")
                yield Button(self.t("counter_later"), id="cancel")
            yield Label(self.t("counter_call_now_help", ticket=self.call), classes="dialog-help")

    def action_accept(self) -> None:
        self.dismiss(self.call is not None)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "accept")


class Question(Dialog):
    """A question with a few answers, each a button and a key; the answer is its id, Esc None."""

    def __init__(
        self,
        language: str,
        question: str,
        answers: list[tuple[str, str, str]],
        said: str = "",
        help_text: str = "",
    ):
        """`answers` are (id, label, key); the last may be a way back with key "escape"."""
        super().__init__(language)
        self.question = question
        self.answers = answers
        self.said = said
        self.help_text = help_text
        self.answer_keys = {key: answer for answer, _, key in answers if key != "escape"}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog question"):
            yield Label(self.question, classes="dialog-title", markup=False)
            if self.said:
                yield Static(self.said, id="said", markup=False)
            with Vertical(classes="dialog-answers"):
                for answer, label, key in self.answers:
                    # Never focused: a stray Enter must not answer for the clerk.
                    button = Button(f"{label} ({_key_name(key)})", id=answer)
                    button.can_focus = False
                    yield button
            if self.help_text:
                yield Label(self.help_text, classes="dialog-help")

    def on_key(self, event) -> None:
        if event.key in self.answer_keys:
            event.stop()
            self.dismiss(self.answer_keys[event.key])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        key = next(key for answer, _, key in self.answers if answer == event.button.id)
        self.dismiss(None if key == "escape" else event.button.id)


def _key_name(key: str) -> str:
    return {"escape": "Esc", "enter": "Enter"}.get(key, key)


class TicketShown(Dialog):
    """A ticket issued at the desk, large, for the visitor to note; Enter or Escape closes it."""

    BINDINGS = [Binding("enter", "cancel", "Close")]

    def __init__(self, language: str, number: str, lines: list[str]):
        super().__init__(language)
        self.number = number
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog ticket"):
            yield Label(self.t("your_number"), classes="dialog-title")
            yield BigNumber(self.number, id="ticket-number")
            yield Static("\n".join(self.lines), id="ticket-lines", markup=False)
            yield Label(self.t("counter_close_help"), classes="dialog-help")


class ConfirmQuit(Dialog):
    """Quit while a visitor is at the counter? True quits; Ctrl+Q again quits too."""

    def __init__(self, language: str, number: str):
        super().__init__(language)
        self.number = number

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.t("counter_quit_question", ticket=self.number), classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.t("counter_stay"), id="stay")
                yield Button(self.t("counter_quit"), id="quit", variant="error")
            yield Label(self.t("counter_quit_help"), classes="dialog-help")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")


class DeskInUseDialog(Dialog):
    """Another screen holds this desk: True takes it over here, anything else quits."""

    def __init__(self, language: str, said: str):
        super().__init__(language)
        self.said = said

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.said, id="said", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.t("counter_quit"), id="quit")
                yield Button(self.t("counter_take_over"), id="take-over", variant="warning")
            yield Label(self.t("counter_desk_in_use_help"), classes="dialog-help")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "take-over")
