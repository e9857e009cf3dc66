"""The counter's dialogs: choose a service to transfer to, type a number, issue a ticket."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, OptionList
from textual.widgets.option_list import Option


class Dialog(ModalScreen):
    """A small modal dialog that Escape closes without an answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChooseService(Dialog):
    """Pick a service from a list; the answer is its code, or (code, priority) with `priority`."""

    def __init__(self, title: str, services: list[tuple[str, str]], priority: bool = False):
        super().__init__()
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
                priority = Checkbox("Priority (cannot wait standing)", id="priority")
                priority.can_focus = False
                yield priority
                yield Label("Enter: issue · p: priority · Esc: cancel", classes="dialog-help")
            else:
                yield Label("Enter: choose · Esc: cancel", classes="dialog-help")

    def key_p(self) -> None:
        if self.ask_priority:
            self.query_one("#priority", Checkbox).toggle()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.ask_priority:
            self.dismiss((event.option.id, self.query_one("#priority", Checkbox).value))
        else:
            self.dismiss(event.option.id)


class CallNumber(Dialog):
    """Type the number to call out of turn, such as A012."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Call which number?", classes="dialog-title")
            yield Input(placeholder="A012", id="number", max_length=12)
            yield Label("Enter: call · Esc: cancel", classes="dialog-help")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        number = event.value.strip().upper()
        self.dismiss(number or None)
