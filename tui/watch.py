"""Learn of database changes made by any process, by polling PRAGMA data_version."""

from __future__ import annotations


class ChangeWatcher:
    """Tells whether anything was committed to the shared database since the last look.

    `PRAGMA data_version` is one cheap read on the app's own long-lived connection
    that changes whenever another connection commits: the apps poll it on a short
    interval and re-read only when it moved, never everything on a timer.
    """

    def __init__(self, engine):
        self.engine = engine
        self._version: int | None = None

    def changed(self) -> bool:
        """True on the first look and whenever another connection committed since."""
        version = self.engine.store.data_version()  # StorageError when the file is gone
        if version == self._version:
            return False
        self._version = version
        return True
