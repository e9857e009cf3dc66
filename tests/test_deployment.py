"""Running Loket for months: the systemd units and desktop entry, and no leftovers.

Each command a unit or the desktop entry starts must be a real `loket` command line that the
CLI accepts; the backup and purge services are run as systemd would run them, on a real office.
The demo and the tour remove their temporary folders however they end.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loket.cli import _parser
from loket.engine import Engine
from tests.terminal import Tmux

DATA = Path(__file__).resolve().parent.parent / "data"
UNITS = sorted((DATA / "systemd").glob("loket-*"))
SERVICES = [unit for unit in UNITS if unit.suffix == ".service"]
INSTALLED_LOKET = "/opt/loket/bin/loket"
LOKET = str(Path(sys.executable).parent / "loket")
COUNTER_ID = "3"  # the instance of loket-counter@.service in these tests


def entries(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file's (key, value) pairs per section; a key may repeat, as systemd allows."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, equals, value = line.partition("=")
        assert equals and current is not None, f"{path.name}:{number}: not a key=value line"
        current.append((key.strip(), value.strip()))
    return sections


def values(path: Path, section: str, key: str) -> list[str]:
    return [value for name, value in entries(path).get(section, []) if name == key]


def expand(command: str) -> str:
    """The command line as systemd hands it on: %i the instance, %% a plain %, $$ a plain $.

    Any other specifier fails the test: a lone %H meant for `date` would be the host's name,
    and a lone $NAME is systemd's to fill in, not the shell's.
    """
    known = {"i": COUNTER_ID, "%": "%"}

    def specifier(match: re.Match) -> str:
        assert match[1] in known, f"unexpected specifier %{match[1]} in {command!r}"
        return known[match[1]]

    def dollar(match: re.Match) -> str:
        assert match[0] == "$$", f"systemd would expand {match[0]!r} in {command!r}"
        return "$"

    # `$(date ...)` is not systemd's: it fills in $NAME and ${NAME} only.
    return re.sub(r"\$\$|\$(?=[A-Za-z_{])", dollar, re.sub(r"%(.)", specifier, command))


def loket_arguments(command: str) -> list[str]:
    """The arguments given to `loket` in a command line, also inside `/bin/sh -c '...'`."""
    words = shlex.split(expand(command))
    if words[:2] == ["/bin/sh", "-c"]:
        words = shlex.split(words[2])
    assert INSTALLED_LOKET in words, f"no {INSTALLED_LOKET} in {command!r}"
    return words[words.index(INSTALLED_LOKET) + 1 :]


def command_of(arguments: list[str]) -> str:
    """The subcommand: the first argument that is neither an option nor --db's path."""
    words = iter(arguments)
    for word in words:
        if word == "--db":
            next(words)
        elif not word.startswith("-"):
            return word
    raise AssertionError(f"no command in {arguments}")


def loket_commands() -> list[tuple[str, list[str]]]:
    """(file, loket arguments) of every ExecStart and of the desktop entry's Exec."""
    found = [
        (unit.name, loket_arguments(command))
        for unit in SERVICES
        for command in values(unit, "Service", "ExecStart")
    ]
    desktop = DATA / "autostart" / "loket-counter.desktop"
    for command in values(desktop, "Desktop Entry", "Exec"):
        found.append((desktop.name, loket_arguments(command)))
    return found


def test_the_office_gets_units_for_each_program_and_each_nightly_job():
    names = {unit.name for unit in UNITS}
    assert names == {
        "loket-kiosk.service",
        "loket-display.service",
        "loket-counter@.service",
        "loket-serve.service",
        "loket-purge.service",
        "loket-purge.timer",
        "loket-backup.service",
        "loket-backup.timer",
    }
    for timer in ("loket-purge.timer", "loket-backup.timer"):
        assert values(DATA / "systemd" / timer, "Timer", "Persistent") == ["true"]


@pytest.mark.parametrize("where, arguments", loket_commands(), ids=lambda x: str(x))
def test_every_command_started_is_one_the_cli_accepts(where, arguments):
    """argparse itself judges each command line: a wrong option or value exits with 2."""
    try:
        parsed = _parser().parse_args(arguments)
    except SystemExit as refused:
        pytest.fail(f"{where}: `loket {shlex.join(arguments)}` refused ({refused.code})")
    assert parsed.run.__name__ == f"cmd_{command_of(arguments)}"


@pytest.mark.parametrize("where, arguments", loket_commands(), ids=lambda x: str(x))
def test_every_option_a_unit_names_is_in_the_commands_help(where, arguments):
    command = command_of(arguments)
    shown = subprocess.run([LOKET, command, "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, f"{where}: `loket {command}` is not a command: {shown.stderr}"
    for option in (a for a in arguments if a.startswith("--")):
        assert re.search(rf"{option}\b", shown.stdout), f"{where}: {option} unknown to {command}"


CONSOLE_PROGRAMS = ("loket-kiosk.service", "loket-display.service", "loket-counter@.service")


@pytest.mark.parametrize("name", CONSOLE_PROGRAMS)
def test_the_console_programs_own_their_terminal_and_come_back_after_a_failure(name):
    unit = DATA / "systemd" / name
    assert values(unit, "Service", "TTYPath") == ["/dev/tty1"]
    for stream in ("StandardInput", "StandardOutput", "StandardError"):
        assert values(unit, "Service", stream) == ["tty"], f"{name}: {stream}"
    assert values(unit, "Unit", "Conflicts") == ["getty@tty1.service"]
    assert values(unit, "Service", "Restart") in (["always"], ["on-failure"])


def test_a_clerk_who_quits_the_console_counter_leaves_it_closed():
    """Restarted after a quit, the counter would open its desk again with nobody at it."""
    counter = DATA / "systemd" / "loket-counter@.service"
    assert values(counter, "Service", "Restart") == ["on-failure"]
    for name in ("loket-kiosk.service", "loket-display.service"):  # these always come back
        assert values(DATA / "systemd" / name, "Service", "Restart") == ["always"]


@pytest.mark.parametrize(
    "result, login_prompt", [("success", True), ("exit-code", False), ("signal", False)]
)
def test_the_login_prompt_comes_back_on_tty1_once_the_counter_stopped_for_good(
    tmp_path, result, login_prompt
):
    """A quit or `systemctl stop` gives tty1 its login prompt; after a crash the counter restarts."""
    asked = tmp_path / "systemctl-asked"
    fake = tmp_path / "bin" / "systemctl"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {asked}\n', encoding="utf-8")
    fake.chmod(0o755)
    (command,) = values(DATA / "systemd" / "loket-counter@.service", "Service", "ExecStopPost")
    assert command.startswith("-+"), "as root (+), and a failure to start getty is no error (-)"
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "SERVICE_RESULT": result}

    stopped = subprocess.run(shlex.split(expand(command[2:])), env=env, timeout=60)

    assert stopped.returncode == 0
    shown = asked.read_text(encoding="utf-8") if asked.exists() else ""
    assert shown == ("--no-block start getty@tty1.service\n" if login_prompt else "")


def test_systemd_finds_nothing_wrong_in_the_units(tmp_path):
    """`systemd-analyze verify`, with loket at its path here: it checks the programs exist."""
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8").replace(INSTALLED_LOKET, LOKET)
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    counter = tmp_path / "loket-counter@.service"
    shutil.copy(counter, tmp_path / f"loket-counter@{COUNTER_ID}.service")
    files = sorted(str(path) for path in tmp_path.iterdir() if "@." not in path.name)
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (verified.returncode, verified.stderr) == (0, "")


def run_as_systemd(unit: str, key: str, tmp_path: Path, office: str) -> subprocess.CompletedProcess:
    """Run a service's command line with its paths moved into tmp_path, as systemd would."""
    (command,) = values(DATA / "systemd" / unit, "Service", key)
    command = expand(command).replace(INSTALLED_LOKET, LOKET)
    command = command.replace("/var/backups/loket", str(tmp_path / "backups"))
    env = {**os.environ, "LOKET_DB": office}
    return subprocess.run(shlex.split(command), capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def office_file(tmp_path) -> str:
    path = str(tmp_path / "loket.db")
    with Engine(path) as engine:
        engine.init()
        engine.issue_ticket("A")
    return path


def test_the_nightly_backup_writes_a_dated_copy_and_prunes_copies_older_than_two_weeks(
    tmp_path, office_file
):
    backups = tmp_path / "backups"
    backups.mkdir()
    old, recent = backups / "loket-2026-01-01-020000.db", backups / "loket-2026-01-10-020000.db"
    for path, days in ((old, 20), (recent, 5)):
        path.write_bytes(b"an earlier backup")
        moment = time.time() - days * 86400
        os.utime(path, (moment, moment))

    before = time.strftime("%Y-%m-%d")
    written = run_as_systemd("loket-backup.service", "ExecStart", tmp_path, office_file)
    after = time.strftime("%Y-%m-%d")  # the run may cross midnight
    pruned = run_as_systemd("loket-backup.service", "ExecStartPost", tmp_path, office_file)

    assert written.returncode == 0, written.stderr
    assert pruned.returncode == 0, pruned.stderr
    new = [p for p in backups.iterdir() if p not in (old, recent)]
    assert len(new) == 1
    day = re.fullmatch(r"loket-(\d{4}-\d{2}-\d{2})-\d{6}\.db", new[0].name)
    assert day and day[1] in (before, after)
    assert not old.exists() and recent.exists()
    with Engine(str(new[0]), create=False) as copy:
        assert copy.waiting_counts()["A"] == 1


def test_the_nightly_purge_runs_on_the_office(tmp_path, office_file):
    purged = run_as_systemd("loket-purge.service", "ExecStart", tmp_path, office_file)

    assert purged.returncode == 0, purged.stderr
    assert "erased the names of 0 appointments" in purged.stdout


def gone(path: Path, seconds: float = 20) -> bool:
    """Whether `path` no longer exists, waiting up to `seconds` for it to go."""
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not path.exists()


@pytest.fixture
def temporary(tmp_path) -> Path:
    """The demo's and the tour's $TMPDIR: their temporary folders are made here."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.fixture
def terminal(tmp_path, temporary):
    terminal = Tmux(tmp_path, TMPDIR=str(temporary))
    yield terminal
    terminal.close()


def start_demo(terminal: Tmux) -> Path:
    """`loket demo --detach` on a new temporary office; its folder once every app writes there."""
    started = terminal.loket("--json", "demo", "--detach")
    assert started.returncode == 0, started.stderr
    folder = Path(json.loads(started.stdout)["database"]).parent
    deadline = time.monotonic() + 20
    logs = [folder / f"{app}.log" for app in ("kiosk", "counter", "display")]
    while not all(log.exists() for log in logs):
        assert time.monotonic() < deadline, f"the apps never started: {list(folder.iterdir())}"
        time.sleep(0.1)
    return folder


@pytest.mark.parametrize(
    "ending", [("kill-session", "-t", "loket-demo"), ("kill-server",)], ids=lambda e: e[0]
)
def test_the_demo_removes_its_folder_when_its_session_ends(terminal, temporary, ending):
    folder = start_demo(terminal)
    assert folder.parent == temporary

    terminal(*ending)

    assert gone(folder)


def test_a_demo_that_cannot_start_leaves_no_folder(terminal, temporary):
    first = start_demo(terminal)

    again = terminal.loket("demo", "--detach")

    assert again.returncode == 1
    assert "a demo is already running" in again.stderr
    assert list(temporary.iterdir()) == [first]


def test_the_tour_removes_its_folder(temporary):
    env = {**os.environ, "TMPDIR": str(temporary)}
    toured = subprocess.run(
        [sys.executable, "-m", "loket.tour"], capture_output=True, text=True, env=env, timeout=120
    )

    assert toured.returncode == 0, toured.stderr
    assert "$ loket status" in toured.stdout
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGHUP, signal.SIGTERM], ids=str)
def test_the_tour_removes_its_folder_when_interrupted(temporary, number):
    """Ctrl+C, a closed terminal or a kill: the tour, held mid-way by a full pipe, cleans up."""
    reading, writing = os.pipe()
    fcntl.fcntl(writing, fcntl.F_SETPIPE_SZ, 4096)  # the tour's output is larger: it must wait
    env = {**os.environ, "TMPDIR": str(temporary), "PYTHONUNBUFFERED": "1"}
    tour = subprocess.Popen(
        [sys.executable, "-m", "loket.tour"], stdout=writing, stderr=subprocess.PIPE, env=env
    )
    os.close(writing)
    first_line = b""
    while not first_line.endswith(b"\n"):
        first_line += os.read(reading, 1)
    folder = Path(first_line.decode().rsplit(": ", 1)[1].strip()).parent
    assert folder.exists() and tour.poll() is None

    tour.send_signal(number)
    while os.read(reading, 65536):
        pass
    os.close(reading)

    assert tour.wait(timeout=60) == 130
    assert "Traceback" not in tour.stderr.read().decode()
    assert list(temporary.iterdir()) == []


def test_the_printers_udev_rule_is_for_the_kiosks_printer():
    (command,) = values(DATA / "systemd" / "loket-kiosk.service", "Service", "ExecStart")
    arguments = loket_arguments(command)
    vendor, product = arguments[arguments.index("--printer") + 1].split(":")[1:]
    rule = (DATA / "udev" / "60-loket-printer.rules").read_text(encoding="utf-8")

    assert f'ATTRS{{idVendor}}=="{vendor}", ATTRS{{idProduct}}=="{product}"' in rule
    assert 'GROUP="lp"' in rule
    assert values(DATA / "systemd" / "loket-kiosk.service", "Service", "SupplementaryGroups") == [
        "lp"
    ]
