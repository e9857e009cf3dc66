"""The web server's one engine, on one thread of its own: engines are not thread-safe."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from loket.engine import Engine
from loket.errors import StorageError
from loket.model import utc_now

log = logging.getLogger("loket.web")

T = TypeVar("T")
REOPEN_SECONDS = 1.0  # while the database is gone, one attempt to reopen it per second
CLOSE_SECONDS = 10.0  # a checkpoint on a slow disk may take a while; shutting down must not hang


class Backend:
    """Runs `fn(engine)` on the engine's own thread; reopens the engine after a StorageError.

    Every page, event stream and API call goes through `call`, one at a time: the engine's
    reads are short, and one connection is what an office's database expects of a screen.
    """

    def __init__(
        self, db: str, office: str | None = None, public_url: str | None = None, clock=None
    ):
        self.db = str(db)
        self.office = office
        self.public_url = public_url
        self.clock = clock or utc_now
        self.available = True
        """Whether the last call reached the database."""
        self.problem = ""
        """Why it did not, in one sentence ("" while it works)."""
        self.opened = 0
        """How often an engine was opened: a new one is a fresh start for change watchers."""
        self.calls = 0
        """Calls run so far: a watcher learns from it that others used the engine meanwhile."""
        self._engine: Engine | None = None
        self._failed_at = -REOPEN_SECONDS
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="loket-engine")

    async def call(self, fn: Callable[[Engine], T]) -> T:
        """`fn(engine)` on the engine's thread; raises StorageError while the database is gone."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._run, fn)

    def _run(self, fn: Callable[[Engine], T]) -> T:
        self.calls += 1
        if self._engine is None and time.monotonic() - self._failed_at < REOPEN_SECONDS:
            raise StorageError(self.problem or "the database is unavailable")
        try:
            result = fn(self._open())
        except StorageError as error:
            self._lost(error)
            raise
        self.available, self.problem = True, ""
        return result

    def _open(self) -> Engine:
        if self._engine is not None:
            return self._engine
        engine = Engine(self.db, clock=self.clock, create=False, office=self.office)
        if self.public_url:
            engine.public_url = self.public_url
        self._engine = engine
        self.opened += 1
        return engine

    def _lost(self, error: StorageError) -> None:
        """Close the engine: the next call after REOPEN_SECONDS opens a new one."""
        if self.available:
            log.warning("database unavailable: %s", error)
        self.available, self.problem = False, str(error)
        self._failed_at = time.monotonic()
        if self._engine is not None:
            try:
                self._engine.close(checkpoint=False)
            except Exception:  # a dead connection may fail to close: it is dropped anyway
                log.debug("closing the lost engine failed", exc_info=True)
            self._engine = None

    async def close(self) -> None:
        """Close the engine on its thread and stop the thread, without blocking the event loop."""

        def close_engine() -> None:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await asyncio.wrap_future(self._thread.submit(close_engine))
        except Exception:  # shutting down: nothing left to tell anyone
            log.debug("closing the engine failed", exc_info=True)
        self._thread.shutdown(wait=False)
