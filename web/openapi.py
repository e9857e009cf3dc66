"""The OpenAPI 3.1 document of the JSON API (web/api.py), written by hand next to its routes.

A test checks that every route is described here and every path described here exists.
"""

from __future__ import annotations

from web.api import CHECK_INS_PER_ADDRESS, CHECK_INS_PER_MINUTE, MAX_BODY_BYTES, MAX_CALLS


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


def _object(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
LOCAL_TIME = {"type": "string", "format": "date-time", "description": "the office's local time"}
NULLABLE_TIME = {**TIME, "type": ["string", "null"]}
NULLABLE_LOCAL = {**LOCAL_TIME, "type": ["string", "null"]}
NUMBER = {
    "type": "string",
    "description": "the ticket's number, as printed (A012)",
    "examples": ["A012"],
}
MINUTES = {
    "type": ["integer", "null"],
    "description": "estimated wait, rounded to 5 minutes; null when no counter is open",
}
VISITOR_URL = {
    "type": ["string", "null"],
    "format": "uri",
    "description": "the visitor's phone page; null when the office has no [web] public_url",
}

SCHEMAS = {
    "Error": _object({"error": {"type": "string", "description": "one sentence"}}, ["error"]),
    "Service": _object(
        {
            "code": {"type": "string", "examples": ["A"]},
            "name": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "the service's name in each of the office's languages",
            },
            "walk_in": {"type": "boolean", "description": "takes walk-in visitors"},
            "open": {"type": "boolean"},
            "opens_at": NULLABLE_TIME,
            "opens_at_local": NULLABLE_LOCAL,
            "waiting": {"type": "integer", "minimum": 0},
            "open_counters": {"type": "integer", "minimum": 0},
            "estimated_wait_minutes": MINUTES,
            "tickets_left": {
                "type": "boolean",
                "description": "false when the daily limit is reached or a new ticket "
                "could not be served before closing",
            },
        }
    ),
    "Services": _object(
        {
            "office": {"type": "string"},
            "time": TIME,
            "time_local": LOCAL_TIME,
            "services": {"type": "array", "items": _ref("Service")},
        }
    ),
    "Call": _object(
        {
            "id": {"type": "integer", "description": "the event's id (the stream's event id)"},
            "action": {"type": "string", "enum": ["call", "recall"]},
            "number": NUMBER,
            "service": {"type": "string"},
            "counter": {"type": "string", "description": "the counter's id"},
            "counter_name": {"type": "string", "description": "the counter's name, as signposted"},
            "at": TIME,
            "at_local": LOCAL_TIME,
        }
    ),
    "Calls": _object({"calls": {"type": "array", "items": _ref("Call")}}),
    "NewTicket": _object(
        {
            "service": {"type": "string", "description": "the service's code", "examples": ["A"]},
            "priority": {
                "type": "boolean",
                "default": False,
                "description": "a priority ticket (due sooner): an integration token (a "
                "reception desk) may always ask; a kiosk token only when the office's config "
                "sets [kiosk] priority = true, else 403",
            },
            "request_key": {
                "type": "string",
                "maxLength": 100,
                "description": "send the same key when retrying a request whose answer was "
                "lost: the retry gets the same ticket, never a second one",
            },
            "language": {
                "type": "string",
                "description": "the visitor's language, for visitor_url (default: the office's first)",
            },
        },
        ["service"],
    ),
    "Ticket": _object(
        {
            "number": NUMBER,
            "service": {"type": "string"},
            "priority": {"type": "boolean"},
            "issued_at": TIME,
            "issued_at_local": LOCAL_TIME,
            "position": {"type": "integer", "minimum": 1},
            "estimated_wait_minutes": MINUTES,
            "visitor_url": VISITOR_URL,
        }
    ),
    "CheckIn": _object(
        {"code": {"type": "string", "maxLength": 500, "description": "QR payload or reference"}},
        ["code"],
    ),
    "CheckInOutcome": _object(
        {
            "outcome": {
                "type": "string",
                "enum": [
                    "accepted",
                    "already_checked_in",
                    "reinstated",
                    "called_now",
                    "already_served",
                    "missed",
                    "too_early",
                    "too_late",
                    "other_day",
                    "cancelled",
                    "not_recognised",
                ],
            },
            "accepted": {"type": "boolean", "description": "the visitor leaves with a ticket"},
            "message": {"type": "string", "description": "one sentence for the visitor"},
            "number": {"type": ["string", "null"]},
            "ticket": {
                "oneOf": [
                    {"type": "null"},
                    _object(
                        {
                            "number": NUMBER,
                            "service": {"type": "string"},
                            "position": {"type": "integer"},
                            "estimated_wait_minutes": MINUTES,
                            "visitor_url": VISITOR_URL,
                        }
                    ),
                ]
            },
        }
    ),
    "CounterAction": _object(
        {
            "current": {
                "type": "string",
                "description": "the number the clerk sees at the counter: refused (409) "
                "when the counter has moved on meanwhile",
            }
        }
    ),
    "CounterResult": _object(
        {
            "counter": {"type": "string"},
            "counter_name": {"type": "string"},
            "number": {"type": ["string", "null"], "description": "the ticket acted on or called"},
            "status": {"type": ["string", "null"]},
            "finished": {"type": ["string", "null"], "description": "next: the ticket it ended"},
        }
    ),
}

RESPONSES = {
    "BadRequest": _error("bad JSON, an unknown field or a bad value"),
    "Unauthorized": _error("no device token, or an unknown or revoked one"),
    "Forbidden": _error(
        "the device token's role may not do this (or a kiosk token asked for a priority ticket "
        "while [kiosk] priority is off)"
    ),
    "Conflict": _error(
        "refused by the queue rules (closed, daily limit, nobody at the counter...)"
    ),
    "TooBig": _error(f"the body is larger than {MAX_BODY_BYTES} bytes"),
    "NotFound": _error("no such service or counter"),
    "TooMany": {
        "description": "too many attempts",
        "headers": {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        },
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "Unavailable": _error("the office's database cannot be reached; try again in a moment"),
}


def _responses(ok: str, body: dict, *errors: str) -> dict:
    answers = {ok: body}
    for name in ("Unavailable", *errors):
        status = {
            "BadRequest": "400",
            "Unauthorized": "401",
            "Forbidden": "403",
            "NotFound": "404",
            "Conflict": "409",
            "TooBig": "413",
            "TooMany": "429",
            "Unavailable": "503",
        }[name]
        answers[status] = {"$ref": f"#/components/responses/{name}"}
    return answers


WRITE_ERRORS = ("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "TooBig")


COUNTER_SCOPE = (
    "A counter token is not tied to one counter: it may act at any counter of the office, "
    "so give one only to a clerk's own tool, and revoke it (`loket token revoke`) when the "
    "device is lost."
)


def _counter_action(action: str, summary: str) -> dict:
    return {
        "post": {
            "operationId": f"counter_{action}",
            "summary": summary,
            "description": COUNTER_SCOPE,
            "tags": ["counters"],
            "security": [{"deviceToken": []}],
            "parameters": [
                {
                    "name": "counter",
                    "in": "path",
                    "required": True,
                    "description": "the counter's id in the office config",
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": _ref("CounterAction")}},
            },
            "responses": _responses(
                "200", _json(_ref("CounterResult"), "what the counter did"), *WRITE_ERRORS
            ),
        }
    }


PATHS = {
    "/services": {
        "get": {
            "operationId": "services",
            "summary": "Each service with its line and estimated wait (public)",
            "tags": ["public"],
            "security": [],
            "responses": _responses("200", _json(_ref("Services"), "the services")),
        }
    },
    "/calls": {
        "get": {
            "operationId": "calls",
            "summary": "Today's latest calls and recalls, newest first (public, no personal data)",
            "tags": ["public"],
            "security": [],
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_CALLS,
                        "default": 10,
                    },
                }
            ],
            "responses": _responses("200", _json(_ref("Calls"), "the calls"), "BadRequest"),
        }
    },
    "/calls/stream": {
        "get": {
            "operationId": "calls_stream",
            "summary": "Server-sent events: `call` and `recall` as they happen (public)",
            "description": "Each event's `id` is the event id and its `data` a Call. Reconnecting "
            "with `Last-Event-ID` resumes after that event (among today's calls). While the "
            "database is gone the stream sends one `unavailable` event and carries on when it is back; a comment line keeps "
            "the connection alive every 15 seconds.",
            "tags": ["public"],
            "security": [],
            "parameters": [
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                }
            ],
            "responses": _responses(
                "200",
                {
                    "description": "the event stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "BadRequest",
            ),
        }
    },
    "/tickets": {
        "post": {
            "operationId": "issue_ticket",
            "summary": "Issue a walk-in ticket, as the kiosk does (kiosk or integration token)",
            "description": "`priority: true` needs an integration token, or a kiosk token when "
            "the office's config sets [kiosk] priority = true; otherwise 403 and no ticket.",
            "tags": ["devices"],
            "security": [{"deviceToken": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("NewTicket")}},
            },
            "responses": _responses(
                "201", _json(_ref("Ticket"), "the ticket, with its place in line"), *WRITE_ERRORS
            ),
        }
    },
    "/check-ins": {
        "post": {
            "operationId": "check_in",
            "summary": "Check an appointment in (kiosk or integration token)",
            "description": "Every outcome is a 200 answer: `accepted` says whether the visitor "
            f"has a ticket, `message` why not. At most {CHECK_INS_PER_MINUTE} attempts per minute "
            f"per device token (from all its addresses together) and {CHECK_INS_PER_ADDRESS} per "
            "client address (whatever the tokens); a refused attempt counts for neither.",
            "tags": ["devices"],
            "security": [{"deviceToken": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("CheckIn")}},
            },
            "responses": _responses(
                "200",
                _json(_ref("CheckInOutcome"), "the outcome"),
                "BadRequest",
                "Unauthorized",
                "Forbidden",
                "TooBig",
                "TooMany",
            ),
        }
    },
    "/counters/{counter}/next": _counter_action(
        "next", "End the counter's current visit and call the next ticket (counter token)"
    ),
    "/counters/{counter}/recall": _counter_action(
        "recall", "Call the counter's current ticket again (counter token)"
    ),
    "/counters/{counter}/done": _counter_action(
        "done", "The visitor at the counter has been served (counter token)"
    ),
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "tags": ["public"],
            "security": [],
            "responses": {
                "200": {"description": "the OpenAPI document", "content": {"application/json": {}}}
            },
        }
    },
}


def document() -> dict:
    """The whole document, a fresh dict each time (the caller may change it)."""
    import copy

    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "Loket API",
                "version": "1",
                "description": "Public figures of a counter office (services, waiting times, calls) "
                'and writes for its devices. Errors are JSON: {"error": "<one sentence>"}.',
            },
            "servers": [{"url": "/api/v1"}],
            "paths": PATHS,
            "components": {
                "schemas": SCHEMAS,
                "responses": RESPONSES,
                "securitySchemes": {
                    "deviceToken": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "a device token from `loket token create --role "
                        "kiosk|counter|integration`",
                    }
                },
            },
        }
    )
