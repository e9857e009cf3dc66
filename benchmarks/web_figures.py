"""Web figures (issue 13): `loket serve` measured from outside, as browsers and phones meet it.

1. `/api/v1/services` requests per second on one `loket serve` process (a demo office after a
   busy morning: a few hundred tickets), next to a plain Starlette "hello" on uvicorn in the
   same run. The load comes from a process of its own: keep-alive HTTP/1.1 connections on raw
   asyncio streams, a fixed number of them asking back to back for a fixed time.
2. 300 phones: SSE clients (one client process) follow 300 real tickets' `/t/TOKEN/events`
   while this process issues and calls tickets. The server's memory and CPU (from /proc), and
   the delay from a call's commit to the LAST client that received its update.
3. Commit to the browser's DOM: Chromium (Playwright) on /display; this process calls a
   ticket and notes the commit's time; a MutationObserver in the page notes when the number
   appears (performance.timeOrigin + performance.now(), the same machine clock).
   On SQLite, and on PostgreSQL when its programs are installed.

Figures, not tests: nothing here passes or fails but the DOM goal, which `make bench` reports.
On its own: `.venv/bin/python benchmarks/web_figures.py` (BENCH_QUICK=1 for a short run).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

from timing import figure_table  # benchmarks/ is this script's folder

from loket.config import default_config_text
from loket.engine import Engine
from loket.texts import text
from tests.web_server import HOST, Server, free_port, loket_serve

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
LANGUAGE = "en"  # of the phones' pages
CONNECTIONS, LOAD_SECONDS, WARM_SECONDS, LOAD_ROUNDS = 32, 10.0, 1.0, 3
DAY_TICKETS = 300  # the busy morning behind figure 1
PHONES, PHONE_CALLS, CALL_GAP_SECONDS = 300, 100, (0.15, 0.4)
A_COUNTERS = "124"  # the demo office's counters that serve A
DOM_CALLS, DOM_GAP_SECONDS = 40, (0.3, 0.6)
if QUICK:
    LOAD_SECONDS, LOAD_ROUNDS, PHONE_CALLS, DOM_CALLS = 2.0, 1, 20, 8
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def office_text() -> str:
    # Without C's daily limit of 40: a busy day issues more.
    return default_config_text().replace("daily_limit = 40", "")


# servers in processes of their own


# A plain Starlette app on uvicorn with the same settings as `loket serve`: the reference.
HELLO_SCRIPT = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def hello(request):
    return JSONResponse({"hello": "world"})

app = Starlette(routes=[Route("/", hello), Route("/healthz", hello)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def hello_server(port: int, log: Path) -> Server:
    return Server([sys.executable, "-c", HELLO_SCRIPT, str(port)], log, port)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# 1. requests per second


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked); its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = head.decode("latin-1").lower()
    if "transfer-encoding: chunked" in headers:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    else:
        length = headers.split("content-length:", 1)[1].split("\r\n", 1)[0]
        await reader.readexactly(int(length))
    return int(head[9:12])


async def ask_back_to_back(port: int, path: str, connections: int, seconds: float) -> dict:
    """Requests answered within `seconds` after a warm-up, by status; each one's milliseconds."""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    start = time.perf_counter() + WARM_SECONDS
    end = start + seconds
    statuses: Counter[int] = Counter()
    latencies: list[float] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        while (sent := time.perf_counter()) < end:
            writer.write(request)
            status = await read_response(reader)
            answered = time.perf_counter()
            if start <= answered <= end:
                statuses[status] += 1
                latencies.append((answered - sent) * 1000)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return {"statuses": dict(statuses), "latencies": latencies, "seconds": seconds}


def load_process(port: int, path: str, connections: int, seconds: float, results) -> None:
    results.put(asyncio.run(ask_back_to_back(port, path, connections, seconds)))


def load(port: int, path: str) -> dict:
    """One fixed-time load from a process of its own."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    process = ctx.Process(
        target=load_process, args=(port, path, CONNECTIONS, LOAD_SECONDS, results)
    )
    process.start()
    figures = results.get(timeout=LOAD_SECONDS + 120)
    process.join()
    return figures


def busy_morning(path: str, tickets: int = DAY_TICKETS) -> None:
    """A demo office whose day so far saw `tickets` tickets, most of them served by four counters.

    The engine's clock runs from three hours ago (or the day's start) to now, so the service
    day is today's and its waits and visits look like a real morning's.
    """
    now = datetime.now(UTC)
    local = now.astimezone()
    start = max(now - timedelta(hours=3), local.replace(hour=0, minute=1).astimezone(UTC))
    moment = [start]
    rng = random.Random(13)
    with Engine(path, clock=lambda: moment[0], config_text=office_text()) as engine:
        for counter in "1234":
            engine.open_desk(counter, session=f"bench-{counter}")
        for n in range(tickets):
            moment[0] = start + (now - start) * n / tickets
            engine.issue_ticket(rng.choice("AAABBC"), priority=rng.random() < 0.05)
            if n > 40 and n % 5:
                engine.call_next("1234"[n % 4])


def requests_per_second(folder: str) -> dict:
    """Each server's rate per round, alternating which goes first, and its latencies."""
    db = os.path.join(folder, "rate.db")
    busy_morning(db)
    figures: dict[str, list[dict]] = {"loket": [], "hello": []}
    for round_ in range(LOAD_ROUNDS):
        order = ("hello", "loket") if round_ % 2 == 0 else ("loket", "hello")
        for name in order:
            port, log = free_port(), Path(folder, f"{name}.log")
            server = loket_serve(db, log, port=port) if name == "loket" else hello_server(port, log)
            path = "/api/v1/services" if name == "loket" else "/"
            with server:
                figures[name].append(load(port, path))
    return figures


# 2. 300 phones following their tickets


def parse_event(message: bytes) -> dict:
    """One server-sent event: its `event`, `id` and `data` (JSON when it is)."""
    event: dict = {"event": "message", "data": ""}
    for line in message.decode().splitlines():
        name, _, value = line.partition(":")
        if name in ("event", "id", "data"):
            event[name] = value.removeprefix(" ")
    with suppress(ValueError):  # not every event is JSON
        event["data"] = json.loads(event["data"])
    return event


async def follow(port: int, path: str, seen: list, first: asyncio.Event, stop: asyncio.Event):
    """Follow one event stream until `stop`; `seen` gets (wall-clock time, event) of each."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if int(head[9:12]) != 200:
        raise RuntimeError(f"{path}: {head[:12]!r}")
    buffer = b""
    stopping = asyncio.create_task(stop.wait())
    while not stop.is_set():
        chunk_line = asyncio.create_task(reader.readuntil(b"\r\n"))
        await asyncio.wait({chunk_line, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not chunk_line.done():
            chunk_line.cancel()
            break
        size = int(chunk_line.result().split(b";")[0], 16)
        if size == 0:
            break
        buffer += (await reader.readexactly(size + 2))[:-2]
        received = time.time()
        buffer = buffer.replace(b"\r\n", b"\n")
        while b"\n\n" in buffer:
            message, buffer = buffer.split(b"\n\n", 1)
            if b"data:" in message:  # not a comment, nor the stream's "retry:" advice
                seen.append((received, parse_event(message)))
                first.set()
    stopping.cancel()
    writer.close()


async def follow_all(port: int, tokens: list[str], ready, calls_made) -> list[list]:
    """Every token's stream at once; says when all have their first event; ends once every
    phone shows the last of `calls_made` calls (set when the calls are over), or 60 s after."""
    seen: list[list] = [[] for _ in tokens]
    firsts = [asyncio.Event() for _ in tokens]
    stopping = asyncio.Event()
    followers = [
        asyncio.create_task(
            follow(port, f"/t/{token}/events?lang={LANGUAGE}", seen[n], firsts[n], stopping)
        )
        for n, token in enumerate(tokens)
    ]
    await asyncio.wait_for(asyncio.gather(*(first.wait() for first in firsts)), 60)
    ready.set()
    while calls_made.value < 0:
        await asyncio.sleep(0.1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(
        any(shows_call(event, place, calls_made.value) for _, event in seen[place])
        for place in range(len(seen))
    ):
        await asyncio.sleep(0.1)
    stopping.set()
    await asyncio.gather(*followers)
    return seen


def phones_process(port: int, tokens: list[str], ready, calls_made, results) -> None:
    results.put(asyncio.run(follow_all(port, tokens, ready, calls_made)))


def line_of_phones(path: str) -> list[str]:
    """An office with PHONES tickets for A waiting, nothing else; their visitor tokens in order.

    Only A, without priority: each call takes the first of them, so that every call changes
    what every phone still waiting shows (its place in line), and a page that missed a call
    shows a wrong place.
    """
    with Engine(path, config_text=office_text()) as engine:
        for counter in A_COUNTERS:
            engine.open_desk(counter, session=f"bench-{counter}")
        tickets = [engine.issue_ticket("A").ticket for _ in range(PHONES)]
        return [engine.visitor_token(ticket) for ticket in tickets]


def page_text(html: str, css_class: str) -> str:
    """The text of the visitor page's <p class="css_class">, as its visitor reads it."""
    found = re.search(f'<p class="{css_class}"[^>]*>(.*?)</p>', html, re.S)
    return " ".join(unescape(found.group(1)).split()) if found else ""  # a no-break space too


def ahead_shown(visit: dict) -> int | None:
    """The visitors ahead that a phone's page says (0 = next); None when it says none."""
    place = page_text(visit["html"], "place")
    if place == text(LANGUAGE, "web_next"):
        return 0
    digits = re.search(r"\d+", place)
    return int(digits.group()) if digits else None


def shows_call(event: dict, place: int, calls: int) -> bool:
    """Whether a phone at `place` (0 = first in line) shows the line after `calls` calls or later.

    A server that is still busy with one call may skip straight to the next: the later state
    then shows both.
    """
    if event["event"] != "visit":
        return False
    visit = event["data"]
    if visit["state"] != "waiting":
        return True
    ahead = ahead_shown(visit)
    return place >= calls and ahead is not None and ahead <= place - calls


def phone_delays(seen: list[list], commits: list[float]) -> dict[str, list[float]]:
    """Per call, milliseconds from its commit until the called visitor's phone showed it, and
    until the last phone still concerned (the called one and all behind it) did."""
    delays: dict[str, list[float]] = {"called": [], "last": []}
    for n, committed in enumerate(commits, start=1):
        shown = []
        for place in range(n - 1, len(seen)):
            times = [at for at, event in seen[place] if shows_call(event, place, n)]
            shown.append(min(times) if times else float("inf"))
        delays["called"].append((shown[0] - committed) * 1000)
        delays["last"].append((max(shown) - committed) * 1000)
    return delays


def phones(folder: str, db: str, name: str) -> dict:
    """PHONE_CALLS calls (and as many walk-ins) under PHONES followers; the server's costs."""
    tokens = line_of_phones(db)
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    ready, calls_made, results = ctx.Event(), ctx.Value("i", -1), ctx.Queue()
    with loket_serve(db, Path(folder, f"phones-{name}.log"), port=port) as server:
        time.sleep(1)
        idle = rss_mib(server.pid)
        clients = ctx.Process(
            target=phones_process, args=(port, tokens, ready, calls_made, results)
        )
        clients.start()
        if not ready.wait(90):
            raise RuntimeError("the phones did not all get their first event")
        time.sleep(1)
        following = rss_mib(server.pid)
        commits, rss = [], []
        rng = random.Random(3)
        cpu, began = cpu_seconds(server.pid), time.perf_counter()
        with Engine(db) as engine:
            for n in range(PHONE_CALLS):
                time.sleep(rng.uniform(*CALL_GAP_SECONDS))
                engine.issue_ticket("A")  # a walk-in behind every phone: changes none of them
                if engine.call_next(A_COUNTERS[n % 3]).called is None:
                    raise RuntimeError("the line of phones ran empty: PHONES is too small")
                commits.append(time.time())
                rss.append(rss_mib(server.pid))
        calls_made.value = PHONE_CALLS
        seen = results.get(timeout=120)  # once every phone shows the last call
        busy = (cpu_seconds(server.pid) - cpu) / (time.perf_counter() - began)
        clients.join()
    return {
        "delays": phone_delays(seen, commits),
        "rss": (idle, following, max(rss)),
        "cpu": busy,
        "events": sum(len(s) for s in seen),
    }


# 3. commit to the browser's DOM

# Notes when the page's text first shows each of the numbers; kept across a reload of the page.
WATCH_SCRIPT = """
const wanted = NUMBERS;
const shown = JSON.parse(sessionStorage.getItem("shown") || "{}");
new MutationObserver(() => {
  const text = document.body ? document.body.textContent.replace(/\\s+/g, "") : "";
  for (const number of wanted) {
    if (!(number in shown) && text.includes(number)) {
      shown[number] = performance.timeOrigin + performance.now();
      sessionStorage.setItem("shown", JSON.stringify(shown));
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def dom_latencies(folder: str, db: str, name: str) -> list[float]:
    """Milliseconds from each call's commit to its number in /display's DOM, in Chromium."""
    from playwright.sync_api import sync_playwright

    with Engine(db) as engine:
        tickets = [engine.issue_ticket("AB"[n % 2]).ticket for n in range(DOM_CALLS)]
    numbers = ["".join(ticket.number.split()) for ticket in tickets]
    port = free_port()
    commits: dict[str, float] = {}
    rng = random.Random(5)
    with (
        loket_serve(db, Path(folder, f"dom-{name}.log"), port=port),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=BROWSER_ARGS
        )
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        # Waiting numbers are never on the display: each one's first sight is its call.
        page.add_init_script(WATCH_SCRIPT.replace("NUMBERS", json.dumps(numbers)))
        page.goto(f"http://{HOST}:{port}/display")
        page.wait_for_timeout(2000)  # the page's first events
        with Engine(db) as engine:
            for _ in range(DOM_CALLS):
                time.sleep(rng.uniform(*DOM_GAP_SECONDS))
                call = engine.call_next("1")
                commits["".join(call.called.number.split())] = time.time() * 1000
        page.wait_for_timeout(2000)
        shown = json.loads(page.evaluate("() => sessionStorage.getItem('shown') || '{}'"))
        browser.close()
    return [shown.get(number, float("inf")) - at for number, at in commits.items()]


# the whole run and its report


def measure() -> dict:
    figures: dict = {"load": [os.getloadavg()[0]]}
    with tempfile.TemporaryDirectory(prefix="loket-web-") as folder:
        figures["rate"] = requests_per_second(folder)
        figures["phones"] = phones(folder, os.path.join(folder, "phones.db"), "sqlite")
        dom_db = os.path.join(folder, "dom.db")
        Engine(dom_db, config_text=office_text()).close()
        figures["dom"] = dom_latencies(folder, dom_db, "sqlite")
        figures["dom_pg"] = postgres_dom(folder)
    figures["load"].append(os.getloadavg()[0])
    return figures


def postgres_dom(folder: str) -> list[float] | str:
    """Figure 3 on a durable throwaway PostgreSQL server; or why not."""
    from loket.pgcluster import INSTALL_HINT, Cluster, binary

    if binary("initdb") is None or binary("pg_ctl") is None:
        return INSTALL_HINT
    cluster = Cluster(durable=True).start()
    try:
        url = cluster.create_database()
        Engine(url, config_text=office_text()).close()
        return dom_latencies(folder, url, "postgresql")
    finally:
        cluster.remove()


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def rate(load: dict) -> float:
    return sum(load["statuses"].values()) / load["seconds"]


def rate_rows(rounds: dict[str, list[dict]]) -> list[tuple[str, str, str, str]]:
    loket = statistics.median(rate(r) for r in rounds["loket"])
    hello = statistics.median(rate(r) for r in rounds["hello"])
    statuses: Counter[int] = Counter()
    for r in rounds["loket"]:
        statuses.update(r["statuses"])
    answered = ", ".join(f"{n:,} x {status}" for status, n in sorted(statuses.items()))
    latencies = [ms for r in rounds["loket"] for ms in r["latencies"]]
    return [
        (
            f"`/api/v1/services`, one `loket serve`, {CONNECTIONS} connections: requests/s "
            "(ratio to a plain Starlette hello)",
            f"{loket:,.0f} ({loket / hello:.2f}); hello {hello:,.0f}",
            "",
            "",
        ),
        (
            "same: each request's p50 / p99; answers",
            f"{percentile(latencies, 50):.1f} / {percentile(latencies, 99):.1f} ms; {answered}",
            "",
            "",
        ),
    ]


def phone_rows(figures: dict) -> list[tuple[str, str, str, str]]:
    idle, following, most = figures["rss"]
    delays = figures["delays"]
    missed = sum(1 for d in delays["last"] if d == float("inf"))
    return [
        (
            f"{PHONES} phones following their tickets (SSE), {PHONE_CALLS} calls: commit to the "
            "called visitor's phone; to the last phone updated; p50 / p95",
            f"{spread(delays['called'])}; {spread(delays['last'])}"
            + (f"; {missed} calls some phone never showed" if missed else ""),
            "",
            "",
        ),
        (
            f"same: server RSS idle / {PHONES} following / most while calling; server CPU",
            f"{idle:.0f} / {following:.0f} / {most:.0f} MiB; {figures['cpu']:.0%} of a core",
            "",
            "",
        ),
    ]


def spread(values: list[float]) -> str:
    """'p50 / p95 ms' of the values that are finite."""
    finite = [v for v in values if v != float("inf")]
    if len(finite) < 2:
        return "too few shown"
    return f"{percentile(finite, 50):.0f} / {percentile(finite, 95):.0f} ms"


def dom_rows(name: str, latencies: list[float] | str) -> list[tuple[str, str, str, str]]:
    label = f"{name}: call committed to its number in /display's DOM (Chromium)"
    if isinstance(latencies, str):
        return [(label, f"not measured: {latencies}", "p95 < 250 ms", "MISS")]
    p95 = percentile(latencies, 95)
    return [
        (
            f"{label}, {len(latencies)} calls: p50 / p95 (inf: never shown)",
            f"{percentile(latencies, 50):.0f} / {p95:.0f} ms",
            "p95 < 250 ms",
            "PASS" if p95 < 250 else "MISS",
        )
    ]


def rows(figures: dict) -> list[tuple[str, str, str, str]]:
    return [
        *rate_rows(figures["rate"]),
        *phone_rows(figures["phones"]),
        *dom_rows("SQLite", figures["dom"]),
        *dom_rows("PostgreSQL", figures["dom_pg"]),
    ]


def section(figures: dict) -> str:
    """The Markdown part of `make bench` for `loket serve`."""
    quick = "QUICK RUN (BENCH_QUICK): shorter runs, fewer calls; not the goals' figures. "
    lines = [
        "## The office in a browser (issue 13)",
        "",
        f"{quick if QUICK else ''}Each server is one process on 127.0.0.1. Requests: "
        f"{LOAD_ROUNDS} round{'s' * (LOAD_ROUNDS > 1)} of {LOAD_SECONDS:g} s after "
        f"{WARM_SECONDS:g} s of warm-up, from a load process of its own ({CONNECTIONS} "
        "keep-alive connections on raw asyncio streams); the office saw "
        f"{DAY_TICKETS} tickets this morning. Phones: one client process, a call every "
        f"{CALL_GAP_SECONDS[0]}-{CALL_GAP_SECONDS[1]} s with a walk-in before each. Browser: "
        f"Chromium at 1920x1080, a call every {DOM_GAP_SECONDS[0]}-{DOM_GAP_SECONDS[1]} s. "
        f"Load average (1 min) {figures['load'][0]:.2f} before, {figures['load'][1]:.2f} after.",
        "",
        *figure_table(rows(figures)),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(section(measure()))
