"""The JSON API under /api/v1: public figures, tickets and check-ins for integrations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route


async def services(request: Request) -> JSONResponse:
    """Every service with its line and estimated wait (public)."""
    backend = request.app.state.backend
    statuses = await backend.call(lambda engine: engine.services())
    return JSONResponse({"services": [s.to_dict() for s in statuses]})


def routes() -> list[BaseRoute]:
    """The API's routes, mounted at /api/v1 by web.server.create_app."""
    return [Route("/services", services, methods=["GET"])]
