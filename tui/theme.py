"""Loket's high-contrast theme: white and yellow on black, every text pair at least 7:1."""

from textual.theme import Theme

# Contrast on black: white 21:1, #FFD400 yellow 14.6:1, #7FE0FF light blue 13:1;
# black on yellow 14.6:1. Nothing mid-grey: waiting rooms have glare and tired eyes.
HIGH_CONTRAST = Theme(
    name="loket-contrast",
    primary="#FFD400",
    secondary="#7FE0FF",
    accent="#FFD400",
    warning="#FFD400",
    error="#FF8080",
    success="#7CFF7C",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    dark=True,
)


def use_high_contrast(app) -> None:
    """Register and select the high-contrast theme on `app`."""
    app.register_theme(HIGH_CONTRAST)
    app.theme = HIGH_CONTRAST.name
