"""What every kiosk screen shares: the scanner's keys, and touch buttons."""

from textual import events
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static


class KioskScreen(Screen):
    """A kiosk screen: a scanner's payload, a typed reference or a button-box key works on any of them."""

    def on_key(self, event: events.Key) -> None:
        self.app.key_pressed(event)

    def on_screen_resume(self) -> None:
        # Once the screens have settled: the start screen is passed on the way to a ticket.
        self.app.call_later(self.app.guidance.screen_shown, self)


class TouchButton(Static):
    """A large touch target that never takes focus and has no hover or pressed styling.

    Never focused, because a focused button would be pressed by the Enter that ends
    every scan. No hover or flash, because restyling costs a repaint (~25 ms here)
    before the tap is handled, and a touch screen has no hover: the next screen is
    the feedback.
    """

    DEFAULT_CSS = """
    TouchButton {
        height: 3;
        border: round $primary;
        content-align: center middle;
        text-align: center;
        text-style: bold;
    }
    """

    class Pressed(Message):
        """The visitor tapped this button."""

        def __init__(self, button: "TouchButton"):
            super().__init__()
            self.button = button

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Pressed(self))


def touch_button(label: str, id: str | None = None, classes: str = "") -> TouchButton:
    """A touch button with this label, shown as written: a service name may hold brackets."""
    return TouchButton(label, id=id, classes=classes, markup=False)
