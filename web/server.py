"""`loket serve`: the Starlette app (pages, event streams, the JSON API) and its uvicorn server."""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from loket.engine import Engine
from loket.errors import LoketError, StorageError
from web import pages
from web.backend import Backend
from web.live import Live

log = logging.getLogger("loket.web")

HERE = Path(__file__).parent

# Pages that hold a visitor's token must not leak it: not to another site (Referer), not
# into a frame, not into a shared cache. Everything the pages load comes from this server.
HEADERS = [
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'self'",
    ),
]
PRIVATE = [(b"cache-control", b"no-store"), (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    """Adds HEADERS to every response, and PRIVATE to the visitor's and the join pages."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        private = scope["path"].startswith(("/t/", "/join"))

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [
                    h for h in message.get("headers", []) if h[0] != b"cache-control" or not private
                ]
                message["headers"] = headers + HEADERS + (PRIVATE if private else [])
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    db, office: str | None = None, public_url: str | None = None, clock=None
) -> Starlette:
    """The web app on the office at `db` (a SQLite file or a PostgreSQL URL)."""
    from web import api  # H_api's JSON API, mounted under /api/v1

    backend = Backend(db, office=office, public_url=public_url, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        app.state.live = Live(backend)
        await app.state.live.start()
        try:
            yield
        finally:
            await app.state.live.stop()
            await backend.close()

    routes = [
        Route("/", _home, methods=["GET"]),
        Route("/display", pages.display, methods=["GET"]),
        Route("/display/events", pages.display_events, methods=["GET"]),
        Route("/display/audio/{event_id:int}.wav", pages.display_audio, methods=["GET"]),
        Route("/chime.wav", pages.chime, methods=["GET"]),
        Route("/t/{token}", pages.visit_page, methods=["GET"]),
        Route("/t/{token}/events", pages.visit_events, methods=["GET"]),
        Route("/t/{token}/leave", pages.visit_leave, methods=["GET", "POST"]),
        Route("/t/{token}/more-time", pages.visit_more_time, methods=["POST"]),
        Route("/join", pages.join, methods=["GET", "POST"]),
        Route("/healthz", pages.healthz, methods=["GET"]),
        Mount("/api/v1", routes=api.routes()),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            pages.BadRequest: _bad_request,
            StorageError: _unavailable,
            Exception: _failed,
        },
    )
    app.state.backend = backend
    app.state.streams = 0
    app.state.voice = pages.Voice()
    app.state.join_limits = pages.JoinLimits(secrets.token_bytes(32))
    app.add_middleware(SecurityHeaders)
    return app


async def _home(request: Request) -> Response:
    return Response(status_code=307, headers={"location": "/display"})


async def _bad_request(request: Request, error: Exception) -> Response:
    return PlainTextResponse(f"{error}\n", status_code=400)


async def _unavailable(request: Request, error: Exception) -> Response:
    """A page asked while the database is gone: one calm sentence, 503, no details."""
    lang = request.query_params.get("lang", "")
    return pages.unavailable(request, lang if lang in pages.texts.LANGUAGES else "nl")


async def _failed(request: Request, error: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return PlainTextResponse("Something went wrong on the server.\n", status_code=500)


def serve(
    db,
    office: str | None,
    host: str,
    port: int,
    public_url: str | None = None,
    clock=None,
    behind_proxy: str | None = None,
) -> None:
    """Run the web server until Ctrl+C; a missing database or a taken port is a LoketError.

    X-Forwarded-For is believed only from `behind_proxy` (the reverse proxy's address):
    from anyone else, it would let a client pick the address that /join's limits count."""
    import uvicorn

    # Fail early, in one sentence: no database there, no office in it.
    with Engine(
        db, create=False, office=office, **({} if clock is None else {"clock": clock})
    ) as engine:
        name = engine.office.name
    listening = _listen(host, port)
    app = create_app(db, office=office, public_url=public_url, clock=clock)
    shown = f"[{host}]" if ":" in host else host
    print(f"loket serve: {name} on http://{shown}:{listening.getsockname()[1]}/display", flush=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        access_log=False,
        proxy_headers=behind_proxy is not None,
        forwarded_allow_ips=behind_proxy or "",
    )
    uvicorn.Server(config).run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is one clear sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, as uvicorn's own bind does: asyncio sets TCP_NODELAY only on
    # connections of such a socket, and without it each answer waited ~40 ms for an ACK.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        if error.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise LoketError(
                f"port {port} on {host} is already in use: choose another with --port"
            ) from None
        raise LoketError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    listening.listen(2048)
    listening.set_inheritable(True)
    return listening
