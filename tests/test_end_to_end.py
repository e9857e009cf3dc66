"""The whole office in real terminals: kiosk, counter and display as separate processes.

tmux is the terminal; `.ci/system-packages` installs it where it is missing.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from display import layout
from tests.terminal import Tmux, survivors

FROZEN = "2026-12-01T08:00:00+00:00"  # a Tuesday, 09:00 in Brussels


def wait_until_gone(pids: list[int], seconds: float) -> list[int]:
    """The processes among `pids` still running after up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [pid for pid in pids if running(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def wait_until_catching(pid: int, number: int, seconds: float = 15) -> None:
    """Until the process has a handler for signal `number` (or gives up after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and running(pid):
        with open(f"/proc/{pid}/status") as status:
            caught = next(line for line in status if line.startswith("SigCgt:"))
        if int(caught.split()[1], 16) & 1 << (number - 1):
            return
        time.sleep(0.01)


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def big_call(tmux, target: str, number: str, counter_name: str) -> list[str]:
    """The rows of ink the display in `target` draws for this call, at that pane's size."""
    size = tmux("display-message", "-p", "-t", target, "#{pane_width} #{pane_height}")
    width, height = map(int, size.split())
    plan = layout.latest_on_screen(number, counter_name, width, height)
    rows = layout.draw(plan.number, plan.number_scale, plan.number_rows)
    for line in plan.counter:
        rows += layout.draw(line, plan.counter_scale, plan.counter_rows)
    return [row.strip() for row in rows]


@pytest.fixture
def tmux(tmp_path):
    terminal = Tmux(tmp_path, LOKET_FROZEN_CLOCK=FROZEN)
    yield terminal
    terminal.close()


def test_a_ticket_taken_at_the_kiosk_is_called_at_a_counter_and_shown(tmux, tmp_path):
    db = str(tmp_path / "office.db")
    assert tmux.loket("--db", db, "init").returncode == 0
    tmux.start("kiosk", "--db", db, "kiosk", "--printer", f"file:{tmp_path}/tickets")
    tmux.start("counter", "--db", db, "counter", "2")
    tmux.start("display", "--db", db, "display", "--counters", "2")
    tmux.wait_for("kiosk", "Raak een dienst aan")
    tmux.wait_for("counter", "Loket 2 · Stadhuis Demo", "Geen bezoeker.")
    tmux.wait_for("display", "Nog niemand opgeroepen")

    tmux.keys("kiosk", "3")  # the button box's third service: Burgerlijke stand
    tmux.wait_for("kiosk", "Uw nummer")
    tmux.wait_for("counter", "Volgende: C001")

    tmux.keys("counter", "n")
    tmux.wait_for("counter", "C001 opgeroepen.")
    # the waiting counts may follow the big call by one refresh
    tmux.wait_for(
        "display", *big_call(tmux, "display", "C001", "Loket 2"), "Wachtend:  A 0   B 0   C 0   D 0"
    )

    tmux.keys("counter", "d")
    tmux.wait_for("counter", "C001 is klaar.", "Vandaag geholpen: 1")


def test_loket_demo_shows_kiosk_counter_and_display_side_by_side(tmux, tmp_path, snapshot):
    db = str(tmp_path / "demo.db")
    started = tmux.loket("--db", db, "demo", "--detach", "--session", "demo")
    assert started.returncode == 0, started.stderr
    panes = tmux("list-panes", "-t", "demo", "-F", "#{pane_index}").split()
    assert panes == ["0", "1", "2"]
    # the estimates show once the demo's counter app has opened its desk
    kiosk = tmux.wait_for("demo:0.0", "Ik heb een afspraak", "09:00", "Ongeveer 20 min")
    counter = tmux.wait_for("demo:0.1", "Geen bezoeker.", "09:00")
    display = tmux.wait_for("demo:0.2", "Nog niemand opgeroepen", "09:00")
    assert "\n---\n".join([kiosk, counter, display]) == snapshot
    status = tmux("show-options", "-v", "-t", "demo", "status-right")
    assert status.startswith("Appointments: 09:05 A ")  # with their references

    tmux.keys("demo:0.0", "1")
    tmux.wait_for("demo:0.0", "Uw nummer")
    tmux.keys("demo:0.1", "n")  # at once: the counter checks the queue before refusing
    tmux.wait_for("demo:0.2", *big_call(tmux, "demo:0.2", "A001", "Loket 1"))


def test_a_second_demo_with_the_same_name_is_refused(tmux, tmp_path):
    assert tmux.loket("--db", str(tmp_path / "a.db"), "demo", "--detach").returncode == 0
    again = tmux.loket("--db", str(tmp_path / "b.db"), "demo", "--detach")
    assert again.returncode == 1
    assert "a demo is already running: `tmux attach -t loket-demo`" in again.stderr
    assert not (tmp_path / "b.db").exists()


def test_the_demo_refuses_an_existing_database(tmux, tmp_path):
    db = str(tmp_path / "office.db")
    tmux.loket("--db", db, "init")
    refused = tmux.loket("--db", db, "demo", "--detach")
    assert refused.returncode == 1
    assert "already exists: the demo needs a fresh database file" in refused.stderr


@pytest.fixture
def own_terminal(tmp_path):
    """A person's terminal: a pane of a tmux server other than the one the demo starts."""
    terminal = Tmux(tmp_path, socket="terminal")
    yield terminal
    terminal.close()


def test_leaving_the_demo_ends_it(tmux, own_terminal, tmp_path):
    """A newcomer runs `loket demo` in their terminal (here: a pane) and leaves with Ctrl-b d.

    Their terminal is another tmux server: a client attached from a pane of the demo's own
    server made tmux 3.3a's server crash now and then under load.
    """
    db = str(tmp_path / "demo.db")
    command = f"env -u TMUX -u COLUMNS -u LINES {sys.executable} -m loket --db {db} demo"
    own_terminal(
        "new-session", "-d", "-s", "terminal", "-x", "160", "-y", "48", command + "; sleep 60"
    )
    own_terminal.wait_for("terminal", "Nu aan de beurt", "Nu aan het loket", "Raak een dienst")
    assert tmux("list-sessions", "-F", "#{session_name}").split() == ["loket-demo"]
    own_terminal.keys("terminal", "C-b")
    own_terminal.keys("terminal", "d")
    own_terminal.wait_for("terminal", "[detached")
    assert demo_sessions_once_settled(tmux) == []


def demo_sessions_once_settled(tmux: Tmux, seconds: float = 10) -> list[str]:
    """The demo server's sessions, once there are none (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            names = tmux("list-sessions", "-F", "#{session_name}").split()
        except RuntimeError:  # no server (or one exiting): its last session has ended
            names = []
        if not names or time.monotonic() > deadline:
            return names
        time.sleep(0.1)


def test_the_demo_started_inside_tmux_with_no_client_tells_where_it_runs(tmux, tmp_path):
    """`make demo` in a pane of a detached session: there is no client to switch, still exit 0."""
    db = tmp_path / "demo.db"
    command = f"env -u COLUMNS -u LINES {sys.executable} -m loket --db {db} demo; echo EXIT=$?"
    tmux("new-session", "-d", "-s", "terminal", "-x", "160", "-y", "48", command + "; sleep 60")
    screen = tmux.wait_for("terminal", "EXIT=")
    assert "EXIT=0" in screen
    assert "The demo runs in tmux session loket-demo: show it with" in screen
    assert f"In another shell: export LOKET_DB={db}" in screen
    shown = tmux("show-options", "-v", "-t", "loket-demo", "status-format[1]")
    assert f"In another shell: export LOKET_DB={db}" in shown
    assert tmux("show-environment", "-t", "loket-demo", "LOKET_DB").strip() == f"LOKET_DB={db}"


def test_closing_the_terminals_ends_every_process_they_started(tmp_path):
    """A program that ignores hangup and SIGTERM, as the leaked kiosks did, is killed too."""
    terminal = Tmux(tmp_path)
    stubborn = "trap '' HUP TERM; sleep 600 & sleep 600"
    db = str(tmp_path / "office.db")
    try:
        terminal("new-session", "-d", "-s", "stubborn", f"sh -c {shlex.quote(stubborn)}")
        assert terminal.loket("--db", db, "init").returncode == 0
        terminal.start("kiosk", "--db", db, "kiosk", "--log", str(tmp_path / "kiosk.log"))
        terminal.wait_for("kiosk", "Raak een dienst aan")
        assert len(survivors(str(tmp_path))) == 5  # the server, the shell, its sleeps, the kiosk
    finally:
        terminal.close()

    assert survivors(str(tmp_path)) == []


def test_a_kiosk_whose_terminal_goes_away_during_start_up_ends(tmp_path):
    """kill-server hangs up each terminal while its kiosk is still starting."""
    db = str(tmp_path / "office.db")
    terminal = Tmux(tmp_path)
    assert terminal.loket("--db", db, "init").returncode == 0
    kiosks = [f"kiosk{n}" for n in range(4)]
    for name in kiosks:
        terminal.start(name, "--db", db, "kiosk", "--log", str(tmp_path / f"{name}.log"))
    pids = [int(terminal("list-panes", "-t", name, "-F", "#{pane_pid}")) for name in kiosks]
    for pid in pids:  # hang up while the kiosks start: once they have mounted
        wait_until_catching(pid, signal.SIGTERM)
    subprocess.run(["tmux", "kill-server"], env=terminal.env, capture_output=True)
    try:
        assert wait_until_gone(pids, seconds=10) == []
    finally:
        terminal.close()


def test_staff_end_a_running_kiosk_with_sigterm(tmux, tmp_path):
    db = str(tmp_path / "office.db")
    assert tmux.loket("--db", db, "init").returncode == 0
    tmux.start("kiosk", "--db", db, "kiosk", "--log", str(tmp_path / "kiosk.log"))
    tmux.wait_for("kiosk", "Raak een dienst aan")
    pid = int(tmux("list-panes", "-t", "kiosk", "-F", "#{pane_pid}"))

    os.kill(pid, signal.SIGTERM)

    assert wait_until_gone([pid], seconds=10) == []
