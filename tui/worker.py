"""What the kiosk's and the counter's database workers share: one engine per operation."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from textual.message import Message

from loket.engine import Engine
from loket.errors import StorageError
from loket.storage import is_url

# An operation waits up to the engine's busy timeout (10 s) while another program holds
# the database: after this long the app says so, instead of a screen that seems stuck.
WAIT_NOTICE_SECONDS = 0.6


@dataclass
class DatabaseFailed(Message):
    """An operation could not reach the database, or failed on a bug."""

    error: Exception


@contextmanager
def operation_engine(path: str, clock, app_engine: Engine | None = None) -> Iterator[Engine]:
    """An engine for one operation in a worker's thread.

    On SQLite a new one each time, as a connection stays in its thread; it closes without
    the checkpoint (a disk sync), which the app's long-lived engine does. On PostgreSQL
    one kept for every operation of the app, one at a time: a new connection would cost
    more round trips than the operation itself. It takes up the office config that the
    app's own engine (`app_engine`, which follows changes) last read; without one, it reads it.
    """
    if not is_url(path):
        engine = Engine(path, clock=clock, create=False)
        try:
            yield engine
        finally:
            engine.close(checkpoint=False)
        return
    with _kept_lock:
        engine = _kept.pop(path, None) or Engine(path, clock=clock, create=False)
        engine.clock = clock
        kept = True
        try:
            if app_engine is None:
                engine.refresh_config()  # `loket init --config` may have changed the office
            else:
                engine.take_office_of(app_engine)
            yield engine
        except StorageError:
            kept = False  # its connection may be broken: the next operation opens a new one
            engine.close(checkpoint=False)
            raise
        finally:
            # After a refusal or a bug the transaction rolled back: the engine is fine.
            if kept:
                _kept[path] = engine


_kept: dict[str, Engine] = {}
_kept_lock = threading.Lock()


@atexit.register
def _close_kept() -> None:
    """Close the kept engines while Python still can (psycopg complains at its teardown)."""
    with _kept_lock:
        while _kept:
            _kept.popitem()[1].close(checkpoint=False)
