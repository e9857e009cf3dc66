"""What every kiosk screen shares: keys no widget took go to the app's scanner handling."""

from textual import events
from textual.screen import Screen
from textual.widgets import Button


class KioskScreen(Screen):
    """A kiosk screen: a scanner's payload, a typed reference or a button-box key works on any of them."""

    def on_key(self, event: events.Key) -> None:
        self.app.key_pressed(event)


def touch_button(label: str, id: str | None = None, classes: str = "") -> Button:
    """A button for fingers and button boxes that never takes keyboard focus.

    A focused button would be pressed by the Enter that ends every scan; with no focus,
    the scanner's keys reach the app instead.
    """
    button = Button(label, id=id, classes=classes)
    button.can_focus = False
    return button
