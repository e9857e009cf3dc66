"""Real terminals for end-to-end tests: a private tmux server, panes to type into and read."""

from __future__ import annotations

import os
import subprocess
import sys
import time


class Tmux:
    """A tmux server of the test's own (its sockets in `folder`), so no other session is touched."""

    def __init__(self, folder, width: int = 160, height: int = 48, **environment: str):
        self.env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self.env.update(
            TMUX_TMPDIR=str(folder), COLUMNS=str(width), LINES=str(height), **environment
        )
        self.env.pop("LOKET_DB", None)
        self.width, self.height = width, height

    def __call__(self, *arguments: str) -> str:
        result = subprocess.run(
            ["tmux", *arguments], env=self.env, capture_output=True, text=True, timeout=30
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
        subprocess.run(["tmux", "kill-server"], env=self.env, capture_output=True)
