"""The `loket` command: set-up, tickets, counters, appointments and statistics from a shell.

Rich is imported only by the commands that draw tables, and nothing here imports
Textual, so `loket ticket` starts in well under 150 ms.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
from datetime import date, datetime, time

from loket.errors import LoketError, Misconfigured
from loket.safe_text import CONTROL, for_rich, printable

EXIT_REFUSED = 1
EXIT_USAGE = 2


def main(argv: list[str] | None = None, clock=None) -> int:
    """Run one command; returns the exit code (0 ok, 1 refused or failed, 2 usage).

    `clock` lets tests run the command at a chosen moment; by default the real time.
    """
    args = _parser().parse_args(argv)
    args.clock = clock or _frozen_clock()
    # --db and --json may stand before or after the command; SUPPRESS keeps either from erasing the other.
    args.db = getattr(args, "db", None)
    args.json = getattr(args, "json", False)
    args.office = getattr(args, "office", None)
    try:
        if args.db is not None and not args.db.strip():
            # An empty --db (an unset shell variable) must not fall back to the per-user office.
            raise LoketError("--db: the path is empty")
        return args.run(args) or 0
    except LoketError as error:
        print(f"loket: {printable(error)}", file=sys.stderr)
        return EXIT_REFUSED
    except UnicodeDecodeError:
        # Only a damaged database gets here: SQLite's own message then holds the broken bytes.
        from loket.storage import damaged

        path = args.db or os.environ.get("LOKET_DB") or "the database"
        print(f"loket: {damaged(path)}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `loket status | head`
        sys.stderr.close()
        return 0
    except Exception as error:  # the last line of defence: one line, never a traceback
        if os.environ.get("LOKET_DEBUG"):
            raise
        print(
            f"loket: unexpected error: {error!r} (set LOKET_DEBUG=1 for details)", file=sys.stderr
        )
        return EXIT_REFUSED


def _frozen_clock():
    """$LOKET_FROZEN_CLOCK (ISO time) stops the clock, for screenshots and snapshot tests."""
    frozen = os.environ.get("LOKET_FROZEN_CLOCK")
    if not frozen:
        return None
    try:
        moment = datetime.fromisoformat(frozen)
    except ValueError:
        raise SystemExit(f"loket: LOKET_FROZEN_CLOCK={frozen!r} is not an ISO time") from None
    if moment.tzinfo is None:
        raise SystemExit(f"loket: LOKET_FROZEN_CLOCK={frozen!r} needs a UTC offset, such as +00:00")
    return lambda: moment


def database_path(option: str | None) -> str:
    """--db, else $LOKET_DB, else loket.db in the user's data folder (created on first use)."""
    if option:
        return option
    if os.environ.get("LOKET_DB"):
        return os.environ["LOKET_DB"]
    import platformdirs

    folder = platformdirs.user_data_dir("loket", appauthor=False)
    os.makedirs(folder, mode=0o700, exist_ok=True)  # names of visitors: the owner's only
    return os.path.join(folder, "loket.db")


def _engine(args, create: bool | None = None, config_text: str | None = None):
    """The office at --db, $LOKET_DB or the per-user default.

    Only `init` creates a database, and the per-user default is created on its first use,
    so that `loket ticket A` works with no set-up. A file named with --db or $LOKET_DB must
    exist and hold an office: a typo, a share that is briefly gone or an emptied file must
    never become a second office handing out A001 again.
    """
    from loket.engine import Engine
    from loket.storage import is_url

    path = database_path(args.db)
    if create is None:
        create = not (args.db or os.environ.get("LOKET_DB"))
    if not create and not is_url(path) and not os.path.exists(path):
        raise LoketError(f"no database at {path}: create it with `loket --db {path} init`")
    clock = {} if args.clock is None else {"clock": args.clock}
    return Engine(path, create=create, config_text=config_text, office=args.office, **clock)


class _Version(argparse.Action):
    """--version, read from the installed package's metadata only when asked for."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import version

        print(f"loket {version('loket')}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="PATH|URL",
        default=argparse.SUPPRESS,
        help="database file, or postgresql://USER@HOST/DATABASE",
    )
    common.add_argument(
        "--office",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="on PostgreSQL: which office (default $LOKET_OFFICE, else the only one)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object"
    )

    parser = argparse.ArgumentParser(
        prog="loket",
        description="Counter queue and ticketing for a city hall's front office.",
        parents=[common],
    )
    parser.add_argument("--version", action=_Version, help="print loket's version and exit")
    # An explicit prog spares argparse measuring the terminal (importing shutil) on every run.
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True, prog="loket"
    )

    def command(name, run, help, **kwargs):
        sub = commands.add_parser(name, help=help, description=help, parents=[common], **kwargs)
        sub.set_defaults(run=run)
        return sub

    sub = command("init", cmd_init, "create or migrate the database and load the office config")
    sub.add_argument(
        "--config", metavar="FILE", help="office config (TOML); default: the demo office"
    )
    sub.add_argument(
        "--roles",
        action="store_true",
        help="PostgreSQL: create the roles for displays, kiosks and counters, granted this office",
    )
    command("services", cmd_services, "each service with its line and estimated wait")
    sub = command("ticket", cmd_ticket, "issue a walk-in ticket")
    sub.add_argument("service")
    sub.add_argument(
        "--priority", action="store_true", help="for a visitor who cannot wait standing"
    )
    sub = command("cancel", cmd_cancel, "cancel a waiting ticket")
    sub.add_argument("number")
    sub = command("checkin", cmd_checkin, "check in an appointment by QR payload or reference")
    sub.add_argument("code")
    sub = command("call", cmd_call, "finish the current ticket and call the next (or NUMBER)")
    sub.add_argument("counter")
    sub.add_argument("number", nargs="?")
    for name, help in (
        ("recall", "call the current ticket again"),
        ("done", "the current visitor has been served"),
        ("noshow", "the called visitor did not come"),
        ("pause", "pause the counter"),
        ("resume", "open the counter again"),
    ):
        sub = command(name, cmd_counter_action, help)
        sub.add_argument("counter")
        sub.set_defaults(action_name=name)
    sub = command(
        "reinstate",
        cmd_reinstate,
        "bring a no-show back into the line; the office's [no_show] policy says where",
    )
    sub.add_argument("number", help="the ticket's number, e.g. A012")
    sub = command("transfer", cmd_transfer, "send the current visitor to another service's line")
    sub.add_argument("counter")
    sub.add_argument("service")
    sub = command("status", cmd_status, "lines, counters and the latest calls")
    sub.add_argument(
        "--calls", type=_count(1000), default=10, metavar="N", help="how many recent calls"
    )

    appointments = command(
        "appointments", None, "book, import, list appointments and draw their QR"
    )
    actions = appointments.add_subparsers(
        title="actions", metavar="ACTION", required=True, prog="loket appointments"
    )

    def action(name, run, help):
        sub = actions.add_parser(name, help=help, description=help, parents=[common])
        sub.set_defaults(run=run)
        return sub

    sub = action("add", cmd_appointment_add, "book one appointment")
    sub.add_argument("service")
    sub.add_argument(
        "--at", required=True, metavar="TIME", help="office time, H:MM or HH:MM, or 'now'"
    )
    sub.add_argument("--date", metavar="DAY", type=_day, help="YYYY-MM-DD (default: today)")
    sub.add_argument("--name", help="the visitor's name (personal data: never shown on screens)")
    sub = action("import", cmd_appointment_import, "import an .ics or .csv export (all or nothing)")
    sub.add_argument("file")
    sub.add_argument("--service", help="put every appointment in this service")
    sub = action("list", cmd_appointment_list, "the appointments of a day")
    sub.add_argument("--date", metavar="DAY", type=_day, help="YYYY-MM-DD (default: today)")
    sub = action("qr", cmd_appointment_qr, "show an appointment's QR code")
    sub.add_argument("reference")
    sub.add_argument("--png", metavar="FILE", help="write it as a PNG image instead")
    sub = action("export", cmd_appointment_export, "a day's references and QR codes, for mails")
    sub.add_argument("--date", metavar="DAY", type=_day, help="YYYY-MM-DD (default: today)")
    sub.add_argument(
        "--csv", metavar="FILE", help="a new CSV: uid, reference, service, starts_at, QR payload"
    )
    sub.add_argument("--images", metavar="FOLDER", help="one QR image per appointment in FOLDER")
    sub.add_argument("--format", choices=["png", "svg"], default="png", help="image format")

    sub = command("stats", cmd_stats, "figures for a day or a period")
    sub.add_argument("--date", metavar="DAY", type=_day, help="one day (default: today)")
    sub.add_argument("--from", dest="first", metavar="DAY", type=_day, help="first day of a period")
    sub.add_argument("--to", dest="last", metavar="DAY", type=_day, help="last day of a period")
    sub.add_argument("--csv", metavar="FILE", help="also write the figures as CSV")
    sub = command("report", cmd_report, "a page of charts for the manager (HTML, works offline)")
    sub.add_argument("--from", dest="first", metavar="DAY", type=_day, required=True)
    sub.add_argument("--to", dest="last", metavar="DAY", type=_day, required=True)
    sub.add_argument("--html", metavar="FILE", required=True, help="the page to write")
    _simulate_parser(command("simulate", cmd_simulate, "how many counters: simulated days"))
    command("purge", cmd_purge, "erase personal data older than retention_days")
    sub = command("copy", cmd_copy, "move this office's whole history to PostgreSQL")
    sub.add_argument("--to", required=True, metavar="URL", help="postgresql://USER@HOST/DATABASE")
    sub.add_argument("--to-office", metavar="NAME", default="main", help="the new office's name")
    sub = command("backup", cmd_backup, "copy the whole office to a new file, while it runs")
    sub.add_argument("file", help="the backup file to write (must not exist yet)")
    tokens = command("token", None, "device tokens for the web API: create, list, revoke")
    token_actions = tokens.add_subparsers(
        title="actions", metavar="ACTION", required=True, prog="loket token"
    )
    sub = token_actions.add_parser(
        "create", help="a new token (its secret is shown once)", parents=[common]
    )
    sub.set_defaults(run=cmd_token_create)
    sub.add_argument("--role", required=True, metavar="kiosk|counter|integration")
    sub.add_argument("--name", default="", help="what it is for, e.g. reception tablet")
    sub = token_actions.add_parser("list", help="every token, revoked ones too", parents=[common])
    sub.set_defaults(run=cmd_token_list)
    sub = token_actions.add_parser("revoke", help="refuse a token from now on", parents=[common])
    sub.set_defaults(run=cmd_token_revoke)
    sub.add_argument("id", help="the token's id, from `loket token list`")
    sub = command("kiosk", cmd_kiosk, "run the self-service ticket kiosk (full screen)")
    sub.add_argument(
        "--printer",
        default="none",
        metavar="SPEC",
        help="none (screen only), file:DIR, network:HOST[:PORT] or usb:VENDOR:PRODUCT",
    )
    sub.add_argument("--log", metavar="FILE", help="where printer faults and outages are logged")
    sub.add_argument(
        "--name",
        type=_kiosk_name,
        metavar="NAME",
        help="this kiosk's name in `loket status`, e.g. entrance (default: the host name)",
    )
    sub.add_argument(
        "--speech",
        type=_speech,
        metavar="VOICE",
        help="spoken guidance on the speech key: espeak, off, or file:DIR to write each "
        "sentence as text and WAV (default: espeak if espeak-ng is installed)",
    )
    sub.add_argument(
        "--speech-device",
        metavar="DEVICE",
        help="the sound device to speak on, e.g. a headphone jack's ALSA name (default: the default)",
    )
    sub.add_argument(
        "--speech-test",
        action="store_true",
        help="for staff: speak one sentence in each language, then exit",
    )
    sub = command("counter", cmd_counter, "run the app for one counter (call, recall, transfer)")
    sub.add_argument("counter", help="the counter's id in the office config, e.g. 1")
    sub.add_argument(
        "--printer",
        default="none",
        metavar="SPEC",
        help="for tickets issued at the desk: none (shown large on screen), file:DIR, "
        "network:HOST[:PORT] or usb:VENDOR:PRODUCT",
    )
    sub.add_argument("--log", metavar="FILE", help="where outages and printer faults are logged")
    sub = command("display", cmd_display, "run the waiting-room display (full screen)")
    sub.add_argument(
        "--services", type=_codes, default=frozenset(), metavar="A,B", help="only these services"
    )
    sub.add_argument(
        "--counters", type=_ids, default=frozenset(), metavar="1,2", help="only these counters"
    )
    sub.add_argument(
        "--voice",
        choices=["nl", "fr", "en", "de", "off"],
        default="off",
        help="speak each call in this language with espeak-ng (default: chime only)",
    )
    sub.add_argument(
        "--history", type=int, default=6, metavar="N", help="earlier calls shown (default 6)"
    )
    sub.add_argument("--log", metavar="FILE", help="where outages and sound problems are logged")
    sub = command("serve", cmd_serve, "the web server: TV display, visitors' phone pages, API")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    sub.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080)")
    sub.add_argument(
        "--public-url",
        metavar="URL",
        help="the address phones reach this server at, for the tickets' QR codes "
        "(default: the office's [web] public_url)",
    )
    sub.add_argument(
        "--behind-proxy",
        metavar="IP",
        help="the reverse proxy's address (or network): X-Forwarded-For is believed from it "
        "only (default: believed from nobody)",
    )
    sub = command("demo", cmd_demo, "kiosk, counter 1 and display side by side in tmux")
    sub.add_argument(
        "--detach", action="store_true", help="start the demo session but do not attach to it"
    )
    sub.add_argument(
        "--web",
        action="store_true",
        help="also run `loket serve` in the demo and print the web display's address",
    )
    sub.add_argument("--session", default="loket-demo", help="the tmux session's name")
    return parser


def _simulate_parser(sub) -> None:
    """`loket simulate`'s options: where the visitors come from, what is tried, how long."""
    learned = "from the history (default: the last 8 weeks)"
    sub.add_argument("--from", dest="first", metavar="DAY", type=_day, help=f"first day {learned}")
    sub.add_argument("--to", dest="last", metavar="DAY", type=_day, help="last day of the history")
    sub.add_argument("--weekday", type=_parsed("weekday"), help="learn from this day only")
    sub.add_argument(
        "--arrivals",
        action="append",
        type=_parsed("rate"),
        default=[],
        metavar="A=20/h",
        help="given arrivals per hour of a service, instead of the history",
    )
    sub.add_argument(
        "--minutes",
        action="append",
        type=_parsed("minutes"),
        default=[],
        metavar="A=6",
        help="mean minutes a visitor of a service takes (exponential; default: the config's)",
    )
    sub.add_argument(
        "--service-times",
        choices=["exponential", "empirical"],
        default="exponential",
        help="with --arrivals: draw service times from the history (empirical)",
    )
    tried = sub.add_mutually_exclusive_group()
    tried.add_argument(
        "--counters",
        type=_count(100),
        help="this many counters, serving every service",
    )
    tried.add_argument(
        "--plan",
        type=_parsed("plan"),
        help='counters per span, serving every service: "08:30-12:00=4, 12:00-16:00=3"',
    )
    sub.add_argument("--hours", type=_parsed("hours"), metavar="09:00-17:00", help="the day's span")
    sub.add_argument("--days", type=_count(2000), default=100, help="simulated days (100)")
    sub.add_argument("--seed", type=_count(2**31), default=1, help="for repeatable figures (1)")
    sub.add_argument(
        "--recommend", action="store_true", help="find the fewest counters per hour for --goal"
    )
    sub.add_argument(
        "--goal",
        type=_parsed("goal"),
        metavar='"90% within 15"',
        help="default: 90%% within the office's target_wait_minutes",
    )
    sub.add_argument(
        "--html",
        metavar="FILE",
        help="also write a page: the simulated waits per hour beside the history's real ones",
    )


def _parsed(name: str):
    """An argparse type from loket.simulate's `parse_NAME`: its sentence on bad input.

    Imported when an option is given, so other commands start without the simulation.
    """

    def parsed(text: str):
        from loket import simulate

        try:
            return getattr(simulate, f"parse_{name}")(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parsed.__name__ = name
    return parsed


def _codes(text: str) -> frozenset[str]:
    """An argparse type: service codes separated by commas, in either case (a,b is A,B)."""
    return frozenset(code.upper() for code in _ids(text))


def _ids(text: str) -> frozenset[str]:
    """An argparse type: counter ids separated by commas, as the config spells them."""
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    if not ids:
        raise argparse.ArgumentTypeError("expected a list separated by commas, such as A,B or 1,2")
    return ids


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError("expected a port number from 1 to 65535")
    return int(text)


def _count(most: int):
    """An argparse type: a whole number from 0 to `most`."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = -1
        if not 0 <= value <= most:
            raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {most}")
        return value

    return count


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-12-01") from None


def _speech(text: str) -> str:
    from loket.speech import parse_spec

    try:
        return parse_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _kiosk_name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > 40 or not name.isprintable():
        raise argparse.ArgumentTypeError("expected a short name such as entrance or 1st-floor")
    return name


def _emit(args, data: dict, human: str) -> None:
    if args.json:
        # JSON escapes C0 controls itself but leaves DEL and C1 (U+009B starts an escape) raw.
        text = json.dumps(data, ensure_ascii=False)
        print(CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", text))
    else:
        print(human)


# commands


def cmd_init(args) -> None:
    from loket.config import load_config

    text = None
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as file:
                text = file.read()
        except (OSError, UnicodeDecodeError) as error:
            raise LoketError(f"cannot read {args.config}: {error}") from None
        load_config(text)  # refuse an invalid config before the database is even created
    with _engine(args, create=True, config_text=text) as engine:
        office = engine.init(text)
        roles = engine.create_device_roles() if args.roles else []
        data = {
            "database": engine.path,
            "office": office.name,
            "services": list(office.services),
            "counters": list(office.counters),
            **({"roles": roles} if roles else {}),
        }
        _emit(
            args,
            data,
            f"{printable(office.name)}: {_counted(len(office.services), 'service')}, "
            f"{_counted(len(office.counters), 'counter')}, "
            f"database {engine.path}" + (f"; roles {', '.join(roles)}" if roles else ""),
        )


def cmd_services(args) -> None:
    with _engine(args) as engine:
        services = engine.services()
    if args.json:
        return _emit(args, {"services": [s.to_dict() for s in services]}, "")
    from rich.table import Table

    table = Table("Code", "Service", "Walk-in", "Waiting", "Counters open", "Est. wait", "Issued")
    for s in services:
        table.add_row(
            s.code,
            for_rich(s.name),
            _availability(s),
            str(s.waiting),
            str(s.open_counters),
            _minutes(s.estimated_wait_minutes),
            f"{s.issued_today}" + (f" / {s.daily_limit}" if s.daily_limit else ""),
        )
    _console().print(table)


def _availability(service) -> str:
    if not service.walk_in:
        return "appointments only"
    if not service.open_now:
        return "closed" + (f" (opens {service.opens_at:%a %H:%M})" if service.opens_at else "")
    if service.limit_reached:
        return "daily limit reached"
    return "yes"


def _minutes(value: int | None) -> str:
    return "unknown (no counter open)" if value is None else f"~{value} min"


def cmd_ticket(args) -> None:
    with _engine(args) as engine:
        receipt = engine.issue_ticket(args.service, priority=args.priority)
        _emit(args, receipt.to_dict(), _receipt_text(engine, receipt))


def _receipt_text(engine, receipt) -> str:
    ticket = receipt.ticket
    service = engine.office.services[ticket.service]
    lines = [
        f"Ticket {ticket.number}  {printable(service.name(engine.office.languages[0]))}"
        + ("  (priority)" if ticket.priority else ""),
        f"Position {receipt.position} in line, estimated wait {_minutes(receipt.estimated_wait_minutes)}",
    ]
    return "\n".join(lines)


def cmd_cancel(args) -> None:
    with _engine(args) as engine:
        ticket = engine.cancel(args.number)
    _emit(args, ticket.to_dict(), f"{ticket.number} cancelled")


CHECKIN_TEXTS = {
    "accepted": "Welcome: your ticket is {number}",
    "already_checked_in": "Already checked in: your ticket is {number}",
    "already_served": "Ticket {number} of this appointment has been served",
    "missed": "Ticket {number} of this appointment was already called: please ask at the desk",
    "too_early": "Too early: check in from {allowed_from}",
    "too_late": "Too late for the appointment at {at}",
    "other_day": "Your appointment is on another day: {day}",
    "cancelled": "This appointment was cancelled",
    "not_recognised": "Code not recognised: please go to the reception desk",
}


def cmd_checkin(args) -> int:
    with _engine(args) as engine:
        result = engine.check_in(args.code)
        local = engine.local
        fields = {
            "number": result.receipt.ticket.number if result.receipt else result.number,
            "allowed_from": f"{local(result.allowed_from):%H:%M}" if result.allowed_from else "",
            "at": f"{local(result.appointment_at):%H:%M}" if result.appointment_at else "",
            "day": result.day or "",
        }
        message = CHECKIN_TEXTS[result.outcome].format(**fields)
        if result.outcome == "too_late":
            message += (
                f": walk-in ticket {fields['number']} instead"
                if result.receipt
                else f" ({result.reason})"
            )
        data = {"outcome": result.outcome, "message": message}
        data.update(result.receipt.to_dict() if result.receipt else {"number": result.number})
        if result.receipt:
            _emit(args, data, message + "\n" + _receipt_text(engine, result.receipt))
            return 0
        if args.json:
            _emit(args, data, "")
        print(f"loket: {message}", file=sys.stderr)
        return EXIT_REFUSED


def cmd_call(args) -> None:
    with _engine(args) as engine:
        if args.number:
            call = engine.call_number(args.counter, args.number)
        else:
            call = engine.call_next(args.counter)
    finished = f"{call.finished.number} done; " if call.finished else ""
    called = (
        f"{call.called.number} -> {printable(call.counter.name)}"
        if call.called
        else "nobody is waiting"
    )
    _emit(args, call.to_dict(), finished + called)


def cmd_counter_action(args) -> None:
    name = args.action_name
    with _engine(args) as engine:
        if name in ("pause", "resume"):
            state = getattr(engine, name)(args.counter)
            return _emit(args, state.to_dict(), f"{printable(state.name)} {state.state}")
        method = {"recall": engine.recall, "done": engine.finish, "noshow": engine.no_show}[name]
        ticket = method(args.counter)
        desk = engine.office.counters[str(args.counter)]
    verb = {
        "recall": f"recalled to {printable(desk.name)}",
        "done": "done",
        "noshow": "marked as no-show",
    }[name]
    _emit(
        args,
        {"counter": desk.id, "number": ticket.number, "ticket": ticket.to_dict()},
        f"{ticket.number} {verb}",
    )


def cmd_reinstate(args) -> None:
    with _engine(args) as engine:
        receipt = engine.reinstate(args.number)
    ticket = receipt.ticket
    _emit(
        args,
        receipt.to_dict(),
        f"{ticket.number} is back in line for service {ticket.service}: position "
        f"{receipt.position}, estimated wait {_minutes(receipt.estimated_wait_minutes)}",
    )


def cmd_transfer(args) -> None:
    with _engine(args) as engine:
        ticket = engine.transfer(args.counter, args.service)
        position = engine.position(ticket)
    data = {
        "counter": str(args.counter),
        "number": ticket.number,
        "position": position,
        "ticket": ticket.to_dict(),
    }
    _emit(
        args, data, f"{ticket.number} now waits for service {ticket.service} (position {position})"
    )


def cmd_status(args) -> None:
    with _engine(args) as engine:
        status = engine.status(recent=args.calls)
        local = engine.local
        today = local(engine.now()).date()
    if args.json:
        return _emit(args, status.to_dict(), "")
    from rich.table import Table

    console = _console()
    lines = Table("Service", "Waiting", "Est. wait", "Next numbers", title="Lines")
    for s in status.services:
        numbers = " ".join(t.number for t in status.waiting.get(s.code, [])[:8])
        lines.add_row(
            f"{s.code} {for_rich(s.name)}",
            str(s.waiting),
            _minutes(s.estimated_wait_minutes),
            numbers,
        )
    console.print(lines)
    desks = Table("Counter", "State", "Services", "Serving", title="Counters")
    for c in status.counters:
        desks.add_row(
            for_rich(c.name),
            _counter_state_text(c, local, today),
            " ".join(c.services),
            c.current.number if c.current else "-",
        )
    console.print(desks)
    if status.problems:
        problems = Table("Device", "Problem", "Since", title="Needs attention")
        for p in status.problems:
            problems.add_row(for_rich(p.device), for_rich(p.problem), f"{local(p.since):%H:%M}")
        console.print(problems)
    calls = Table("Time", "Number", "Counter", title="Latest calls")
    for event in status.recent_calls:
        name = next((c.name for c in status.counters if c.id == event.counter), event.counter)
        recall = " (recall)" if event.action == "recall" else ""
        calls.add_row(f"{local(event.at):%H:%M:%S}", event.number + recall, for_rich(name))
    console.print(calls)


def _counter_state_text(counter, local, today) -> str:
    """ "open" or "paused" while a clerk's app is there; else since when nobody is."""
    if counter.present:
        return counter.state
    if counter.away_since is None:
        return "nobody"
    moment = local(counter.away_since)
    return f"away since {moment:%H:%M}" if moment.date() == today else f"away since {moment:%d/%m}"


def cmd_appointment_add(args) -> None:
    with _engine(args) as engine:
        now = engine.now()
        today = engine.local(now).date()
        if args.at.strip().casefold() == "now":
            if args.date not in (None, today):
                raise LoketError("--at now is today: give a time such as 9:05 for another day")
            at = now
        else:
            at = _local_time(args.at, args.date or today, engine.office.timezone)
            _refuse_past(at, now, engine.local)
        appointment = engine.add_appointment(args.service, at, name=args.name)
        data = {
            "reference": appointment.display_reference,
            "qr_payload": appointment.qr_payload,
            "at": appointment.starts_at.isoformat(),
            "service": appointment.service,
            "day": appointment.day,
        }
        _emit(
            args,
            data,
            f"Appointment {appointment.display_reference} for service {appointment.service} "
            f"on {appointment.day} at {engine.local(appointment.starts_at):%H:%M}\n"
            f"QR payload: {appointment.qr_payload}",
        )


def _local_time(text: str, day: date, zone) -> datetime:
    """--at on --date in the office's zone; 9:05 is 09:05, and 10:30+05:00 is that moment."""
    from loket.config import local_datetime

    typed = text.strip()
    if typed[1:2] == ":":
        typed = "0" + typed  # fromisoformat wants two digits for the hour; CSV imports don't
    try:
        moment = time.fromisoformat(typed)
    except ValueError:
        raise LoketError(f"--at {text!r} is not a time like 9:05 or 10:30") from None
    try:
        return local_datetime(day, moment, zone)
    except ValueError as error:
        raise LoketError(str(error)) from None


def _refuse_past(at: datetime, now: datetime, local) -> None:
    """A time already past is a typo (wrong day?), not a booking; the current minute still counts."""
    if at < now.replace(second=0, microsecond=0):
        raise LoketError(
            f"{local(at):%Y-%m-%d %H:%M} is in the past (it is now {local(now):%Y-%m-%d %H:%M}): "
            "give a later time or another --date, or --at now"
        )


def cmd_appointment_import(args) -> None:
    from loket.imports import read_appointments, started_before

    with _engine(args) as engine:
        plan = read_appointments(args.file, engine.office, service=args.service)
        past = [row.where for row in started_before(plan.rows, engine.now())]
        counts = engine.import_appointments(plan.rows)
    data = {**counts, "skipped": plan.skipped, "past": past}
    human = ", ".join(f"{n} {what}" for what, n in counts.items())
    human += "".join(f"\nskipped {printable(reason)}" for reason in plan.skipped)
    _emit(args, data, f"Imported {args.file}: {human}")
    if past:
        print(f"loket: warning: {_past_warning(past)}", file=sys.stderr)


def _past_warning(past: list[str]) -> str:
    shown = ", ".join(printable(where) for where in past[:5])
    more = f" and {len(past) - 5} more" if len(past) > 5 else ""
    verb = "is" if len(past) == 1 else "are"
    return f"{_counted(len(past), 'appointment')} {verb} already past ({shown}{more})"


def _counted(count: int, noun: str) -> str:
    """'1 appointment', '2 appointments': a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def cmd_appointment_list(args) -> None:
    with _engine(args) as engine:
        day = (args.date or engine.local(engine.now()).date()).isoformat()
        appointments = engine.appointments(day)
        local = engine.local
    if args.json:
        return _emit(args, {"day": day, "appointments": [a.to_dict() for a in appointments]}, "")
    from rich.table import Table

    table = Table("Time", "Reference", "Service", "Name", "State", title=f"Appointments on {day}")
    for a in appointments:
        state = (
            a.status if a.status == "cancelled" else ("checked in" if a.checked_in else "booked")
        )
        table.add_row(
            f"{local(a.starts_at):%H:%M}",
            a.display_reference,
            for_rich(a.service),
            for_rich(a.name or ""),
            state,
        )
    _console().print(table)


def cmd_appointment_qr(args) -> None:
    from loket import qr

    with _engine(args) as engine:
        appointment = engine.appointment(args.reference)
    payload = appointment.qr_payload
    if args.png:
        qr.write_png(payload, args.png)
        return _emit(
            args, {"reference": appointment.display_reference, "png": args.png}, f"wrote {args.png}"
        )
    if args.json:
        return _emit(args, {"reference": appointment.display_reference, "qr_payload": payload}, "")
    from rich.text import Text

    console = _console()
    console.print(Text(qr.as_text(payload), style="black on white"))
    console.print(f"{appointment.display_reference}  {appointment.day}")


def cmd_appointment_export(args) -> None:
    from loket import exports

    if args.csv is None and args.images is None:
        raise LoketError("export: give --csv FILE, --images FOLDER or both")
    with _engine(args) as engine:
        day = (args.date or engine.local(engine.now()).date()).isoformat()
        appointments = engine.appointments(day)
        names = exports.export(appointments, engine.local, args.csv, args.images, args.format)
    booked = [a for a in appointments if a.status == "booked"]
    cancelled = len(appointments) - len(booked)
    data = {
        "day": day,
        "exported": len(booked),
        "cancelled_left_out": cancelled,
        "csv": args.csv,
        "images": args.images and {ref: os.path.join(args.images, n) for ref, n in names.items()},
    }
    written = [printable(args.csv)] if args.csv else []
    if args.images:
        images = _counted(len(names), f"{args.format.upper()} image")
        written.append(f"{images} in {printable(args.images)}")
    human = f"Exported {_counted(len(booked), 'appointment')} of {day}: {', '.join(written)}"
    if cancelled:
        human += f" ({_counted(cancelled, 'cancelled appointment')} left out)"
    _emit(args, data, human)


def cmd_stats(args) -> int | None:
    from loket import stats

    if args.office == "all":
        return _stats_of_all_offices(args)
    with _engine(args) as engine:
        today = engine.local(engine.now()).date()
        first = args.first or args.date or today
        last = args.last or args.date or (today if args.first else first)
        if last < first:  # a usage error, as for `loket report`
            print(f"loket: --to {last} is before --from {first}", file=sys.stderr)
            return EXIT_USAGE
        report = stats.compute(engine.tickets_between(first, last), engine.office)
        office = engine.office
    if args.csv:
        stats.write_csv(report, args.csv)
    if args.json:
        return _emit(
            args, {"from": first.isoformat(), "to": last.isoformat(), **stats.to_dict(report)}, ""
        )
    console = _console()
    console.print(f"{for_rich(office.name)}: {first}" + (f" to {last}" if last != first else ""))
    stats.render(report, office, console)


def _stats_of_all_offices(args) -> None:
    """`loket stats --office all`: each office of the database on a line, and their sum."""
    from loket import stats
    from loket.engine import Engine
    from loket.storage import is_url

    path = database_path(args.db)
    names = [None]  # a SQLite file is one office
    if is_url(path):
        from loket.storage_pg import office_names

        names = office_names(path)
    per_office = {}
    for name in names:
        clock = {} if args.clock is None else {"clock": args.clock}
        with Engine(path, create=False, office=name, **clock) as engine:
            today = engine.local(engine.now()).date()
            first = args.first or args.date or today
            last = args.last or args.date or (today if args.first else first)
            tickets = engine.tickets_between(first, last)
            per_office[name or engine.office.name] = (tickets, engine.office)
    figures = stats.across_offices(per_office)
    if args.json:
        return _emit(args, {name: stats.row(fig) for name, fig in figures.items()}, "")
    stats.render_offices(figures, _console())


def cmd_report(args) -> int:
    """Bad input (dates, path, an empty period) is refused with exit 2 and no file written."""
    first, last, path = args.first, args.last, args.html
    folder = os.path.dirname(os.path.abspath(path))
    if last < first:
        problem = f"--to {last} is before --from {first}"
    elif not os.path.isdir(folder):
        problem = f"cannot write {path}: there is no folder {folder}"
    elif os.path.isdir(path):
        problem = f"{path} is a folder: name the HTML file to write"
    else:
        with _engine(args) as engine:
            tickets = engine.tickets_between(first, last)
            office = engine.office
        problem = "" if tickets else f"no tickets from {first} to {last}: nothing to report"
    if problem:
        print(f"loket: {printable(problem)}", file=sys.stderr)
        return EXIT_USAGE
    from loket import report  # matplotlib: only this command pays for it

    try:
        report.write_html(path, tickets, office, first, last)
    except OSError as error:
        print(f"loket: cannot write {printable(path)}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    data = {
        "html": path,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "tickets": len(tickets),
    }
    _emit(args, data, f"wrote {printable(path)}: {len(tickets)} tickets from {first} to {last}")
    return 0


def cmd_simulate(args) -> int | None:
    """Bad combinations of options are usage errors (2); plans that cannot work are refused (1)."""
    from loket import simulate as sim

    problem = _simulate_usage(args)
    if problem:
        print(f"loket: {problem}", file=sys.stderr)
        return EXIT_USAGE
    with _engine(args) as engine:
        office = engine.office
        learned, tickets = None, []
        if not args.arrivals or args.service_times == "empirical":
            learned, tickets, problem = _learned_load(args, engine)
    if problem:
        print(f"loket: {problem}", file=sys.stderr)
        return EXIT_USAGE
    rates, minutes = dict(args.arrivals), dict(args.minutes)
    empirical = learned if args.service_times == "empirical" else None
    load = sim.given_rates(office, rates, minutes, empirical) if rates else learned
    span = args.hours or (sim.parse_hours("09:00-17:00") if rates else load.busy_hours())
    plan = args.plan or (None if args.counters is None else sim.constant_plan(*span, args.counters))
    goal = args.goal or sim.Goal(0.9, office.target_wait_minutes)
    if args.recommend:
        result = sim.recommend(load, office, goal, span, args.days, args.seed)
    else:
        result = sim.simulate(load, office, plan, args.days, args.seed, goal.minutes, span=span)
    data = result.to_dict()
    lines = sim.render(result, printable(office.name))
    if args.recommend:
        data["recommended_plan"] = result.plan.text()
        data["goal"] = goal.text()
        lines = [
            f"The fewest counters for {goal.text()} in every hour:",
            f'  loket simulate --plan "{result.plan.text()}"',
            "",
            *lines,
        ]
    if args.html:
        from loket import report  # matplotlib: only a page pays for it

        shown_goal = goal if args.recommend or args.goal else None
        try:
            report.write_simulation_html(args.html, result, tickets, office, shown_goal)
        except OSError as error:
            reason = error.strerror or error
            print(f"loket: cannot write {printable(args.html)}: {reason}", file=sys.stderr)
            return EXIT_USAGE
        data["html"] = args.html
        lines.append(f"wrote {printable(args.html)}")
    _emit(args, data, "\n".join(lines))


def _simulate_usage(args) -> str:
    """What is wrong with the combination of options, or ''."""
    if args.days < 1:
        return "--days: simulate at least 1 day"
    if args.counters == 0:
        return "--counters 0: with zero counters no visitor is ever called"
    if args.minutes and not args.arrivals:
        return "--minutes goes with --arrivals: give both, such as --arrivals A=20/h --minutes A=6"
    for option, pairs in (("--arrivals", args.arrivals), ("--minutes", args.minutes)):
        codes = [code for code, _ in pairs]
        twice = next((code for code in codes if codes.count(code) > 1), None)
        if twice:
            return f"{option} {twice}=... is given twice: give each service once"
    if args.recommend and (args.plan or args.counters is not None):
        return "--recommend finds the counters itself: leave out --plan and --counters"
    if args.plan and args.hours:
        return "--plan already says the hours: leave out --hours"
    if args.html:
        return _simulate_page_usage(args)
    return ""


def _simulate_page_usage(args) -> str:
    """What stops `--html` (as for `loket report`), or ''."""
    folder = os.path.dirname(os.path.abspath(args.html))
    if args.arrivals:
        return "--html sets the simulation beside the history: leave out --arrivals"
    if not os.path.isdir(folder):
        return f"cannot write {printable(args.html)}: there is no folder {printable(folder)}"
    if os.path.isdir(args.html):
        return f"{printable(args.html)} is a folder: name the HTML file to write"
    return ""


def _learned_load(args, engine):
    """The load the office's history shows, the tickets it was learned from, and a usage
    problem with the dates ('' if none)."""
    from datetime import timedelta

    from loket import simulate as sim

    last = args.last or engine.local(engine.now()).date() - timedelta(days=1)
    first = args.first or last - timedelta(weeks=8, days=-1)
    if last < first:
        return None, [], f"--to {last} is before --from {first}"
    tickets = engine.tickets_between(first, last)
    source = f"the history of {first} to {last}"
    if args.weekday is not None:
        day = sim.WEEKDAYS[args.weekday]
        tickets = [
            t for t in tickets if date.fromisoformat(t.service_day).weekday() == args.weekday
        ]
        source += f", {day} only"
    return sim.learn(tickets, engine.office, source), tickets, ""


def cmd_copy(args) -> None:
    with _engine(args) as engine:
        counts = engine.copy_to(args.to, args.to_office)
    from loket.storage_pg import shown

    rows = ", ".join(f"{table} {count}" for table, count in counts.items())
    _emit(
        args,
        {"to": shown(args.to), "office": args.to_office, "rows": counts},
        f"copied to office {args.to_office} at {shown(args.to)}, counts checked: {rows}",
    )


def cmd_backup(args) -> None:
    with _engine(args) as engine:
        engine.backup(args.file)
    _emit(args, {"backup": args.file}, f"backup written to {args.file}")


def cmd_purge(args) -> None:
    with _engine(args) as engine:
        count = engine.purge()
        days = engine.office.retention_days
    _emit(
        args,
        {"purged": count},
        f"erased the names of {_counted(count, 'appointment')} older than {_counted(days, 'day')}",
    )


def cmd_token_create(args) -> None:
    with _engine(args) as engine:
        secret = engine.create_device_token(args.role.strip(), args.name)
        token = engine.device_token_for(secret)
    if args.json:
        return _emit(args, {**token.to_dict(), "secret": secret}, "")
    # The secret alone on stdout, so that TOKEN=$(loket token create ...) works; the rest on stderr.
    print(f"Token {token.id} for {token.role} {printable(token.name)!r}:", file=sys.stderr)
    print(secret)
    print("It is shown only this once (Loket keeps only its hash): copy it now.", file=sys.stderr)


def cmd_token_list(args) -> None:
    with _engine(args) as engine:
        tokens = engine.device_tokens()
        local = engine.local
    if args.json:
        return _emit(args, {"tokens": [t.to_dict() for t in tokens]}, "")
    from rich.table import Table

    table = Table("Id", "Role", "Name", "Created", "Revoked")
    for t in tokens:
        revoked = "" if t.revoked_at is None else f"{local(t.revoked_at):%Y-%m-%d %H:%M}"
        table.add_row(
            str(t.id), t.role, for_rich(t.name), f"{local(t.created_at):%Y-%m-%d %H:%M}", revoked
        )
    _console().print(table)


def cmd_token_revoke(args) -> None:
    if not re.fullmatch(r"[0-9]{1,18}", args.id.strip()):
        raise LoketError(f"{args.id!r} is not a token id: see `loket token list`")
    with _engine(args) as engine:
        token = engine.revoke_device_token(int(args.id))
    _emit(
        args,
        token.to_dict(),
        f"Token {token.id} ({token.role} {printable(token.name)!r}) is revoked: "
        "devices using it are refused from now on",
    )


def _pass_office_on(args) -> None:
    """An app (and each of the demo's processes) opens the office named in its environment."""
    if args.office:
        os.environ["LOKET_OFFICE"] = args.office


def cmd_kiosk(args) -> int:
    _pass_office_on(args)
    from loket.printing import parse_spec

    try:
        parse_spec(args.printer)
    except ValueError as error:
        raise LoketError(f"--printer: {error}") from None
    from loket.speech import open_voice

    if args.speech_test:
        return _speech_test(args)
    from kiosk.app import KioskApp  # Textual only on the path that opens a screen

    path = database_path(args.db)
    _log_to_file(args.log)
    try:
        voice = open_voice(args.speech, args.speech_device)
    except ValueError as error:
        raise LoketError(f"--speech: {error}") from None
    # The per-user default is created here, on first use; the app itself never creates one.
    # If the database cannot be opened now, the kiosk shows "one moment" and retries.
    try:
        _engine(args).close()
    except Misconfigured:
        raise  # waiting would not help: said before the screen opens
    except LoketError:
        pass
    kwargs = {} if args.clock is None else {"clock": args.clock}
    KioskApp(path, printer=args.printer, kiosk_name=args.name, voice=voice, **kwargs).run()
    return 0


def _speech_test(args) -> int:
    """One sentence per language through the kiosk's voice, so staff hear that it works."""
    from loket import texts
    from loket.speech import open_voice

    if args.speech == "off":
        raise LoketError("--speech-test: choose a voice, --speech espeak or --speech file:DIR")
    try:
        voice = open_voice(args.speech or "espeak", args.speech_device, warn=lambda _: None)
    except ValueError as error:
        raise LoketError(f"--speech: {error}") from None
    if voice is None:
        raise LoketError("no voice: espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    for language in texts.LANGUAGES:
        sentence = texts.text(language, "speech_test")
        print(f"{language}: {sentence}", flush=True)
        voice.say(sentence, language)
        voice.wait()
    voice.close()
    if voice.problem is not None:
        raise LoketError(f"the kiosk's voice does not work: {voice.problem}")
    return 0


def cmd_counter(args) -> int:
    _pass_office_on(args)
    from loket.printing import parse_spec

    try:
        parse_spec(args.printer)
    except ValueError as error:
        raise LoketError(f"--printer: {error}") from None
    path = database_path(args.db)
    _refuse_unknown(path, counters={args.counter})
    from counter.app import CounterApp  # Textual only on the path that opens a screen

    _log_to_file(args.log, "counter.log")
    kwargs = {} if args.clock is None else {"clock": args.clock}
    CounterApp(path, args.counter, printer=args.printer, **kwargs).run()
    return 0


def _refuse_unknown(path: str, counters=frozenset(), services=frozenset()) -> None:
    """A typo in a counter id or service code is refused at once, before the screen opens.

    A database that is not there yet is no error: the app waits for it.
    """
    from loket.engine import Engine
    from loket.errors import Misconfigured, StorageError

    try:
        engine = Engine(path, create=False)
    except Misconfigured:
        raise  # waiting would not help: said before the screen opens
    except StorageError:
        return
    with engine:
        office = engine.office
        for kind, asked, known in (("counter", counters, office.counters),
                                   ("service", services, office.services)):  # fmt: skip
            unknown = sorted(set(asked) - set(known))
            if unknown:
                raise LoketError(
                    f"unknown {kind} {', '.join(map(repr, unknown))} (known: {', '.join(known)})"
                )


def cmd_display(args) -> int:
    _pass_office_on(args)
    if args.history < 0 or args.history > 50:
        raise LoketError("--history: expected 0 to 50 earlier calls")
    path = database_path(args.db)
    _refuse_unknown(path, counters=args.counters, services=args.services)
    from display.app import DisplayApp  # Textual only on the path that opens a screen

    _log_to_file(args.log, "display.log")
    kwargs = {} if args.clock is None else {"clock": args.clock}
    DisplayApp(
        path,
        services=args.services,
        counters=args.counters,
        voice=None if args.voice == "off" else args.voice,
        history=args.history,
        **kwargs,
    ).run()
    return 0


def cmd_serve(args) -> int:
    """The web server, until Ctrl+C; starlette and uvicorn are imported here only."""
    _pass_office_on(args)
    path = database_path(args.db)
    from loket.storage import is_url

    if not is_url(path) and not os.path.exists(path):
        raise LoketError(f"no database at {path}: create it with `loket --db {path} init`")
    public_url = args.public_url
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise LoketError(f"--public-url {public_url}: expected an address starting with https://")
    proxy = args.behind_proxy
    if proxy is not None:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise LoketError(
                f"--behind-proxy {proxy}: expected the proxy's IP address, e.g. 127.0.0.1"
            ) from None
    from web.server import serve

    serve(path, args.office, args.host, args.port, public_url, clock=args.clock, behind_proxy=proxy)
    return 0


def cmd_demo(args) -> int:
    _pass_office_on(args)
    from loket import demo

    path = args.db or demo.temporary_database()  # removed again when the demo ends
    port = demo.free_port() if args.web else None
    session = demo.start(
        path, args.session, clock=args.clock, remove_folder=args.db is None, web_port=port
    )
    web = demo.web_url(port)
    if args.detach:
        human = f"tmux session {session}, database {path}" + (f", web display {web}" if web else "")
        _emit(args, {"session": session, "database": path, **({"web": web} if web else {})}, human)
        return 0
    if web:
        print(f"Web display: {web}", flush=True)
    demo.attach(session)
    return 0


def _log_to_file(log_file: str | None, name: str = "kiosk.log") -> None:
    """Log to a file: the terminal belongs to the app, and staff need the faults afterwards."""
    import logging

    if log_file is None:
        import platformdirs

        folder = platformdirs.user_log_dir("loket", appauthor=False)
        os.makedirs(folder, exist_ok=True)
        log_file = os.path.join(folder, name)
    logging.basicConfig(
        filename=log_file,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _console():
    from rich.console import Console

    return Console()
