"""Learn of database changes made by any process, by polling `store.data_version()`."""

from __future__ import annotations

import time

from loket.errors import StorageError


class ChangeWatcher:
    """Tells whether anything was committed to the shared database since the last look.

    `store.data_version()` changes whenever another connection commits: on SQLite it is
    `PRAGMA data_version`, one cheap read on the app's own long-lived connection; on
    PostgreSQL the NOTIFYs that reached its LISTEN connection, with no round trip. The
    apps poll it on a short interval and re-read only when it moved, never on a timer.
    """

    def __init__(self, engine):
        self.engine = engine
        self._version: int | None = None

    def same_file(self) -> bool:
        """False once the file was deleted, moved or replaced under the open connection."""
        return self.engine.store.same_file()

    def changed(self) -> bool:
        """True on the first look and whenever another connection committed since."""
        if not self.same_file():
            raise StorageError(f"the database {self.engine.path} was moved, deleted or replaced")
        version = self.engine.store.data_version()  # StorageError when the file is unusable
        if version == self._version:
            return False
        self._version = version
        return True


class Retry:
    """Spaces an app's attempts to reopen a database that is unavailable."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._next = 0.0

    def due(self) -> bool:
        """True at most once every `seconds`; the first time at once."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True
