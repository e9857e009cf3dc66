"""`loket demo`: a fresh demo office with kiosk, counter 1 and display side by side in tmux.

Each pane is a real client of the same database, exactly as in an office; only the
terminal is shared. On PostgreSQL (`--db postgresql://...`) each app gets only the URL, as
three machines would. The appointments booked for the demo are listed in tmux's status line.
A demo in a temporary folder of its own removes that folder when its tmux session ends,
however it ends (Ctrl-b d, kill-session, the tmux server killed).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta

from loket.engine import Engine
from loket.errors import LoketError
from loket.model import utc_now
from loket.storage import is_url

# How long the folder's remover waits for the apps to exit once their session has ended.
APPS_EXIT_SECONDS = 10

# Minutes from the next five-minute mark: all within the default 30 minutes early check-in.
APPOINTMENTS = (("A", 0), ("B", 10), ("D", 20))


def seed(path: str, clock=utc_now) -> list[str]:
    """Create the demo database with the demo office and a few appointments for today.

    Returns the appointments as a visitor would quote them: "14:25 A K7P2-QX9M".
    """
    if is_url(path):
        _refuse_an_office_in(path)
    elif os.path.exists(path):
        raise LoketError(f"{path} already exists: the demo needs a fresh database file")
    with Engine(path, clock=clock) as engine:
        engine.init()
        first = _next_five_minutes(clock())
        booked = [
            engine.add_appointment(service, first + timedelta(minutes=minutes))
            for service, minutes in APPOINTMENTS
        ]
        return [
            f"{engine.local(a.starts_at):%H:%M} {a.service} {a.display_reference}" for a in booked
        ]


def _refuse_an_office_in(url: str) -> None:
    from loket.storage_pg import office_names, shown

    if office_names(url):
        raise LoketError(
            f"{shown(url)} already holds an office: the demo needs a fresh database "
            "(createdb a new one)"
        )


def _next_five_minutes(moment: datetime) -> datetime:
    moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=5)
    return moment - timedelta(minutes=moment.minute % 5)


def temporary_database() -> str:
    """A database path in a new temporary folder of the demo's own."""
    return os.path.join(tempfile.mkdtemp(prefix="loket-demo-"), "loket.db")


def start(
    path: str, session: str, clock=None, remove_folder: bool = False, web_port: int | None = None
) -> str:
    """Seed the database and start the tmux session with the three apps; returns its name.

    With `web_port`, `loket serve` runs in the session's second window, on that port.

    With `remove_folder` the database's folder is the demo's own: removed when the session
    ends, or at once when the demo cannot start (even on Ctrl+C). On PostgreSQL the apps'
    logs and printed tickets go to a temporary folder of the demo's own.
    """
    if is_url(path):
        folder, remove_folder = tempfile.mkdtemp(prefix="loket-demo-"), True
    else:
        path = os.path.abspath(path)
        folder = os.path.dirname(path)
    try:
        session_id = _start(path, session, clock, folder, web_port)
    except BaseException:
        if remove_folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if remove_folder:
        _remove_when_ended(session_id, folder)
    return session


def _start(path: str, session: str, clock, folder: str, web_port: int | None = None) -> str:
    """Start the demo's tmux session; returns its id, which no later session reuses."""
    tmux = shutil.which("tmux")
    if tmux is None:
        raise LoketError(
            "loket demo needs tmux (Debian: apt-get install tmux); without it, run "
            "`loket kiosk`, `loket counter 1` and `loket display` in three terminals"
        )
    if _tmux(tmux, "has-session", "-t", f"={session}", check=False).returncode == 0:
        raise LoketError(
            f"a demo is already running: `tmux attach -t {session}`, "
            f"or end it with `tmux kill-session -t {session}`"
        )
    appointments = seed(path, clock or utc_now)
    # COLUMNS and LINES would pin each app to the whole terminal's size, not its pane's.
    unpinned = ["env", "-u", "COLUMNS", "-u", "LINES"]
    # The apps find the office in LOKET_DB (below), like a kiosk PC's EnvironmentFile.
    command = [sys.executable, "-m", "loket"]
    loket = [*unpinned, *command]
    # python-escpos makes a temporary folder at each start and never removes it: the
    # kiosk's temporary folders go inside the demo's, removed with it.
    kiosk = [*unpinned, f"TMPDIR={folder}", *command]
    panes = [
        [*kiosk, "kiosk", "--printer", f"file:{folder}/tickets", "--log", f"{folder}/kiosk.log"],
        [*loket, "counter", "1", "--log", f"{folder}/counter.log"],
        [*loket, "display", "--log", f"{folder}/display.log"],
    ]
    # Panes start in the tmux server's environment; LOKET_DB also reaches a shell opened
    # in the demo (Ctrl-b c), so `loket status` there is about the demo's office.
    environment = ["-e", f"LOKET_DB={path}"]
    # A tmux server that was already running has an environment of its own: pass these on.
    for variable in ("LOKET_OFFICE", "LOKET_FROZEN_CLOCK"):
        if os.environ.get(variable):
            environment += ["-e", f"{variable}={os.environ[variable]}"]
    width, height = shutil.get_terminal_size((160, 48))
    created = _tmux(tmux, "new-session", "-d", "-P", "-F", "#{session_id}", "-s", session,
                    "-x", str(width), "-y", str(height), *environment, shlex.join(panes[0]))  # fmt: skip
    window = f"={session}:0"
    try:
        for command in panes[1:]:
            _tmux(tmux, "split-window", "-h", "-t", window, *environment, shlex.join(command))
        _tmux(tmux, "select-layout", "-t", window, "even-horizontal")
        _tmux(tmux, "select-pane", "-t", f"{window}.1")  # the counter takes the keys first
        if web_port is not None:
            serve = [*loket, "serve", "--port", str(web_port)]
            _tmux(tmux, "new-window", "-d", "-t", f"={session}:", "-n", "web", *environment,
                  shlex.join(serve))  # fmt: skip
        options = _session_options(appointments, session, path, web_url(web_port))
        for option, value in options.items():
            _tmux(tmux, "set-option", "-t", session, option, value)
    except BaseException:
        _tmux(tmux, "kill-session", "-t", f"={session}", check=False)
        raise
    return created.stdout.strip()


def _remove_when_ended(session_id: str, folder: str) -> None:
    """Start a process of its own that removes `folder` once the demo's session has ended.

    It outlives `loket demo`, which hands its terminal to tmux, and in a session of its own
    it is neither interrupted by Ctrl+C nor hung up with the terminal.
    """
    subprocess.Popen(
        [sys.executable, "-m", "loket.demo", session_id, folder],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def remove_after(session_id: str, folder: str, poll_seconds: float = 1) -> None:
    """Wait until the session has ended and its apps have exited, then remove `folder`."""
    apps = _tmux("tmux", "list-panes", "-s", "-t", session_id, "-F", "#{pane_pid}", check=False)
    pids = [int(pid) for pid in apps.stdout.split()]
    while _tmux("tmux", "has-session", "-t", session_id, check=False).returncode == 0:
        time.sleep(poll_seconds)
    deadline = time.monotonic() + APPS_EXIT_SECONDS
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: still running
        pass
    return True


def web_url(port: int | None) -> str | None:
    """The web display's address in the demo, when it runs `loket serve`."""
    return None if port is None else f"http://127.0.0.1:{port}/display"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (8080 when it is free)."""
    for port in (8080, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise LoketError("no free port on 127.0.0.1 for the web display")


def _session_options(
    appointments: list[str], session: str, path: str, web: str | None = None
) -> dict[str, str]:
    """tmux options of the demo session: mouse, and two status lines.

    The first names the appointments to check in with, the second how another shell
    reaches the demo's database.
    """
    return {
        "mouse": "on",  # a click chooses the pane and reaches the app's buttons
        "status-left": f" {session} ",
        "status-left-length": "20",
        "status-right": "Appointments: " + " · ".join(appointments) + "  |  Ctrl-b o: next pane"
        "  Ctrl-b d: end demo ",
        "status-right-length": "150",
        "status": "2",
        "status-format[1]": f"#[align=left] In another shell: export {shell_line(path)}"
        "   (Ctrl-b c: a shell here with it set)"
        + (f"   Web display: {web} (Ctrl-b n: its server)" if web else ""),
    }


def shell_line(path: str) -> str:
    """What another shell runs to reach the demo's office with `loket`."""
    return f"LOKET_DB={shlex.quote(path)}"


def attach(session: str) -> None:
    """Show the demo in this terminal (switching client when already inside tmux).

    Once shown, leaving it (detaching) ends it, so no apps linger in the background; set
    any earlier, tmux would end the session before anyone attached.
    """
    end_when_left = [";", "set-option", "-t", session, "destroy-unattached", "on"]
    if os.environ.get("TMUX"):
        switched = _tmux("tmux", "switch-client", "-t", f"={session}", *end_when_left, check=False)
        if switched.returncode != 0:  # no client to switch (a detached session): still a demo
            print(
                f"The demo runs in tmux session {session}: show it with "
                f"`tmux switch-client -t {session}`, end it with "
                f"`tmux kill-session -t {session}`.\n"
                f"In another shell: export {_database_line(session)}"
            )
        return
    os.execvp("tmux", ["tmux", "attach-session", "-t", f"={session}", *end_when_left])


def _database_line(session: str) -> str:
    """`LOKET_DB=...` as the demo session's environment has it."""
    shown = _tmux("tmux", "show-environment", "-t", f"={session}", "LOKET_DB", check=False)
    path = shown.stdout.strip().partition("=")[2]
    return shell_line(path)


def _tmux(tmux: str, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([tmux, *arguments], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise LoketError(f"tmux {arguments[0]} failed: {result.stderr.strip()}")
    return result


if __name__ == "__main__":
    remove_after(*sys.argv[1:3])
