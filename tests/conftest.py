"""Shared test fixtures: an office on a real SQLite file, with a clock the test moves."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta

import pytest

from loket.engine import Engine

# A Tuesday; 09:00 in Brussels (UTC+1 in winter). The demo office is always open.
MORNING = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


# Libraries that keep a cache in the home folder keep it in a folder of the test run instead:
# matplotlib (`loket report`).
CACHES = ("MPLCONFIGDIR",)


def pytest_configure(config) -> None:
    """Set before collection: a test module that imports loket.report loads matplotlib then."""
    for variable in CACHES:
        os.environ[variable] = tempfile.mkdtemp(prefix=f"loket-tests-{variable.lower()}-")


def pytest_unconfigure(config) -> None:
    for variable in CACHES:
        shutil.rmtree(os.environ.pop(variable, ""), ignore_errors=True)


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self, start: datetime = MORNING):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


# Modules marked `pytestmark = pytest.mark.backends` run each test that asks for `backend`
# (directly or through `db_path`, `new_database` or `office`) on SQLite and on PostgreSQL.
BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc) -> None:
    if metafunc.definition.get_closest_marker("backends") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def prepare_at_once(monkeypatch) -> None:
    """PostgreSQL connections in tests prepare each statement the first time it runs (an
    office's wait for the fifth run): prepared statements at their harshest, everywhere."""
    monkeypatch.setattr("loket.storage_pg.PREPARE_AFTER", 0)


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL server for the whole run, on a Unix socket in a temp folder."""
    from loket.pgcluster import INSTALL_HINT, Cluster, binary

    if not binary("initdb"):
        pytest.fail(INSTALL_HINT, pytrace=False)  # one clear line, never a silent skip
    cluster = Cluster().start()
    yield cluster
    cluster.remove()


@pytest.fixture
def new_database(backend, tmp_path, request):
    """Makes a new, empty office database on the test's backend: a file path or a URL."""
    names = iter(range(1, 1000))
    made: list[str] = []

    def make():
        if backend == "postgresql":
            made.append(request.getfixturevalue("pg_cluster").create_database())
            return made[-1]
        return tmp_path / f"loket-{next(names)}.db"

    yield make
    for url in made:  # ~8 MB each: hundreds of them would fill the disk and slow the server
        request.getfixturevalue("pg_cluster").drop_database(url)


@pytest.fixture
def db_path(new_database, backend, tmp_path):
    """The test's database: a file (tmp_path / "loket.db") or, on PostgreSQL, a URL."""
    return new_database() if backend == "postgresql" else tmp_path / "loket.db"


@pytest.fixture
def office(db_path, clock):
    """The demo office (loket/office.toml) on a fresh database file."""
    with Engine(db_path, clock=clock) as engine:
        yield engine


def busy_morning(engine: Engine, clock: Clock) -> None:
    """A morning at the demo office: a few calls made (one recalled), a few visitors waiting."""
    for service in "AABCA":
        engine.issue_ticket(service)
        clock.advance(minutes=2)
    engine.issue_ticket("B", priority=True)
    booking = engine.add_appointment("A", clock.now + timedelta(minutes=5), name="Not Shown")
    engine.check_in(booking.reference)
    engine.call_next("2")
    engine.call_next("3")
    clock.advance(minutes=3)
    engine.call_next("1")
    engine.recall("1")
    clock.advance(minutes=1, seconds=20)


def clerks_at(engine: Engine, *counters: str) -> None:
    """Clerks are at these counters now: their apps hold the desks and were just heard of."""
    for counter in counters:
        engine.open_desk(counter, session=f"clerk-{counter}")


@pytest.fixture
def engine_closes(monkeypatch) -> list[bool]:
    """Each `Engine.close` from now on, as its `checkpoint` argument (the close still runs)."""
    closes: list[bool] = []
    close = Engine.close

    def recorded(engine, checkpoint=True):
        closes.append(checkpoint)
        close(engine, checkpoint)

    monkeypatch.setattr(Engine, "close", recorded)
    return closes
