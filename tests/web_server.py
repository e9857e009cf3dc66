"""A web server (`loket serve` mostly) in a process of its own on loopback, for tests and benchmarks."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
LOKET = str(Path(sys.executable).parent / "loket")
# Bounds, not timings: a server that never answers or never stops fails, it never hangs.
START_SECONDS, STOP_SECONDS = 30, 15


def free_port() -> int:
    """A TCP port on loopback that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, http.client.HTTPException):
        return False


class Server:
    """A web server in a process of its own on 127.0.0.1:port, its output appended to a log;
    ready once `ready_path` answers, stopped as Ctrl-C would stop it."""

    def __init__(
        self, command: list[str], log: Path, port: int, ready_path: str = "/healthz", env=None
    ):
        self.command, self.log, self.port = command, log, port
        self.ready_path, self.env = ready_path, env
        self.url = f"http://{HOST}:{port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> Server:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + START_SECONDS
        while not answers(f"{self.url}{self.ready_path}"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.command} did not answer: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def pid(self) -> int:
        return self.process.pid


def loket_serve(db, log: Path, *options: str, port: int | None = None, env=None) -> Server:
    """`loket serve` on the office at `db` (a file or a URL), on `port` or a free one."""
    port = port or free_port()
    command = [LOKET, "--db", str(db), "serve", "--port", str(port), *options]
    return Server(command, log, port, env=env)
