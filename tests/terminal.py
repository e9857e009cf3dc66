"""Real terminals for end-to-end tests: a private tmux server, panes to type into and read."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MARK = "LOKET_TEST_TERMINAL"  # in the environment of every process a Tmux starts

GRACE_SECONDS = 3


class Tmux:
    """A tmux server of the test's own (its sockets in `folder`), so no other session is touched."""

    def __init__(
        self,
        folder,
        width: int = 160,
        height: int = 48,
        socket: str = "default",
        **environment: str,
    ):
        """`socket` names a second server in the same folder, e.g. a person's own terminal."""
        self.env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self.env.update(
            TMUX_TMPDIR=str(folder), COLUMNS=str(width), LINES=str(height), **environment
        )
        self.env.pop("LOKET_DB", None)
        # The server, its panes and whatever they start inherit this: close() finds them by it.
        self.env[MARK] = str(folder)
        self.width, self.height = width, height
        self.tmux = ["tmux", "-L", socket]

    def __call__(self, *arguments: str) -> str:
        result = subprocess.run(
            [*self.tmux, *arguments], env=self.env, capture_output=True, text=True, timeout=30
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(arguments)}: {result.stderr.strip()}")
        return result.stdout

    def loket(self, *arguments: str) -> subprocess.CompletedProcess:
        """Run the `loket` command in the test's environment."""
        return subprocess.run(
            [sys.executable, "-m", "loket", *arguments],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self, name: str, *loket_arguments: str) -> None:
        """A new session running `loket ARGUMENTS`, at the test's terminal size."""
        command = " ".join([sys.executable, "-m", "loket", *loket_arguments])
        self("new-session", "-d", "-s", name, "-x", str(self.width), "-y", str(self.height),
             "env -u COLUMNS -u LINES " + command)  # fmt: skip

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-t", target)

    def wait_for(self, target: str, *texts: str, seconds: float = 15) -> str:
        """The pane's screen once it shows every one of `texts`."""
        deadline = time.monotonic() + seconds
        while True:
            screen = self.screen(target)
            if all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{target} never showed {texts}; it shows:\n{screen}")
            time.sleep(0.1)

    def keys(self, target: str, *keys: str) -> None:
        self("send-keys", "-t", target, *keys)

    def close(self) -> None:
        """End the server, then every process it or its panes started, whatever they ignore.

        kill-server hangs up the panes; a program that ignores the hangup (or hangs on its
        way out) is killed after a grace period, so no test leaves a kiosk running. The mark
        is the folder's: this ends the processes of any other Tmux of the same folder too.
        """
        subprocess.run([*self.tmux, "kill-server"], env=self.env, capture_output=True)
        deadline = time.monotonic() + GRACE_SECONDS
        while survivors(self.env[MARK]) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in survivors(self.env[MARK]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while survivors(self.env[MARK]) and time.monotonic() < deadline + GRACE_SECONDS:
            time.sleep(0.05)  # SIGKILL is delivered, not waited for


def survivors(mark: str) -> list[int]:
    """Processes (not zombies) whose environment carries `mark`: all a Tmux of that folder started."""
    wanted = f"\0{MARK}={mark}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if wanted in b"\0" + (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found
