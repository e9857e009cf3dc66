"""Learn of database changes made by any process, by polling PRAGMA data_version."""

from __future__ import annotations

import os
import time

from loket.errors import StorageError


class ChangeWatcher:
    """Tells whether anything was committed to the shared database since the last look.

    `PRAGMA data_version` is one cheap read on the app's own long-lived connection
    that changes whenever another connection commits: the apps poll it on a short
    interval and re-read only when it moved, never everything on a timer.
    """

    def __init__(self, engine):
        self.engine = engine
        self._version: int | None = None
        self._file = _identity(engine.path)

    def same_file(self) -> bool:
        """False once the file was deleted, moved or replaced under the open connection.

        SQLite keeps using an unlinked file without an error, so a kiosk would go on
        issuing tickets nobody else sees: only the file's identity tells.
        """
        return _identity(self.engine.path) == self._file

    def changed(self) -> bool:
        """True on the first look and whenever another connection committed since."""
        if not self.same_file():
            raise StorageError(f"the database {self.engine.path} was moved, deleted or replaced")
        version = self.engine.store.data_version()  # StorageError when the file is unusable
        if version == self._version:
            return False
        self._version = version
        return True


def _identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


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
