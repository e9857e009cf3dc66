"""The kiosk's colours stay readable for tired eyes in a sunlit waiting room (WCAG AAA: 7:1)."""

from __future__ import annotations

import pytest

from tui.theme import HIGH_CONTRAST


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance of #RRGGBB."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("foreground", "background"),  # every text
        ("primary", "background"),  # office name, big number, borders
        ("secondary", "background"),  # hints, unavailable services
        ("background", "primary"),  # the chosen language, printer warning
        ("error", "background"),
        ("success", "background"),
    ],
)
def test_every_text_colour_is_at_least_7_to_1_on_its_background(text, background):
    theme = HIGH_CONTRAST
    assert contrast(getattr(theme, text), getattr(theme, background)) >= 7
