"""A throwaway PostgreSQL server in a folder of its own, for tests, benchmarks and the demo.

It is made with the system's `initdb` and `pg_ctl` (Debian's `postgresql` package) and
listens only on a Unix socket inside its folder: nothing outside that folder is touched,
and no port is opened. PostgreSQL refuses to run as root, so when we are root the server
runs as the `postgres` user, and the folder is handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from urllib.parse import quote

INSTALL_HINT = "PostgreSQL is not installed: apt-get install postgresql (Debian)"


def binary(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, or where Debian keeps it (not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


class Cluster:
    """One PostgreSQL server: `start()`, then `url(database)`, `create_database()`, `stop()`."""

    def __init__(self, durable: bool = False, folder: str | None = None):
        """`durable`: commits are flushed to disk as in production (for benchmarks);
        otherwise fsync is off, which is safe for a server that is thrown away."""
        self.durable = durable
        self.folder = folder or tempfile.mkdtemp(prefix="loket-pg-")
        os.makedirs(self.folder, exist_ok=True)
        self.data = os.path.join(self.folder, "data")
        self.socket = self.folder
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self._databases = 0

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        return subprocess.run(command, capture_output=True, text=True, check=check)

    def start(self) -> Cluster:
        initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError(INSTALL_HINT)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        os.chmod(self.folder, 0o755)
        if not os.path.isdir(self.data):
            self._run(initdb, "-D", self.data, "-U", self.user, "-A", "trust", "-E", "UTF8")
        options = [
            "-c listen_addresses=''",
            f"-c unix_socket_directories={self.socket}",
            "-c max_connections=200",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c full_page_writes=off"]
        self._run(
            pg_ctl, "-D", self.data, "-w", "-l", os.path.join(self.folder, "log"),
            "-o", " ".join(options), "start",
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(binary("pg_ctl"), "-D", self.data, "-w", "-m", mode, "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres", user: str | None = None) -> str:
        """A libpq URL reaching `database` over the socket."""
        return f"postgresql://{user or self.user}@/{database}?host={quote(self.socket, safe='')}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        self._databases += 1
        name = name or f"office{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database `create_database` made, ending whatever is still connected."""
        import psycopg

        name = url.split("/")[3].split("?")[0]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
