"""What the kiosk's and the counter's database workers share: one engine per operation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from textual.message import Message

from loket.engine import Engine

# An operation waits up to the engine's busy timeout (10 s) while another program holds
# the database: after this long the app says so, instead of a screen that seems stuck.
WAIT_NOTICE_SECONDS = 0.6


@dataclass
class DatabaseFailed(Message):
    """An operation could not reach the database, or failed on a bug."""

    error: Exception


@contextmanager
def operation_engine(path: str, clock) -> Iterator[Engine]:
    """An engine for one operation in a worker's thread: SQLite connections stay in theirs.

    It closes without the checkpoint (a disk sync): the app's long-lived engine does that.
    """
    engine = Engine(path, clock=clock, create=False)
    try:
        yield engine
    finally:
        engine.close(checkpoint=False)
