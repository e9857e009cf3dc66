"""What the display looks like, with a frozen clock (the counter: test_counter_snapshots.py).

Run `pytest tests/test_app_snapshots.py --snapshot-update` after a deliberate change of
look, and read the new SVGs (tests/__snapshots__/) before committing them.
"""

from __future__ import annotations

import pytest

from display.app import DisplayApp
from loket.engine import Engine
from tests.conftest import Clock, busy_morning


@pytest.fixture
def busy_office(tmp_path):
    """A morning at the demo office: a few calls made, a few visitors waiting."""
    clock = Clock()
    path = tmp_path / "loket.db"
    with Engine(path, clock=clock) as engine:
        busy_morning(engine, clock)
    return str(path), clock


@pytest.mark.parametrize(
    "size", [(80, 24), (160, 48), (240, 67), (320, 90)], ids=lambda size: f"{size[0]}x{size[1]}"
)
def test_display_at_its_sizes(busy_office, snap_compare, size):
    """The latest call fills at least half the screen, from a small terminal to a 4K TV."""
    path, clock = busy_office
    app = DisplayApp(path, clock=clock, poll_interval=3600)
    assert snap_compare(app, terminal_size=size)


def test_display_when_the_database_is_unavailable(tmp_path, snap_compare):
    app = DisplayApp(str(tmp_path / "missing.db"), clock=Clock(), poll_interval=3600)
    assert snap_compare(app, terminal_size=(100, 30))
