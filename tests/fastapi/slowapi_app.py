"""A FastAPI app behind a real rate limiter from PyPI: slowapi (on `limits`), for the Rust
client to be measured and tested against a limiter we did not write.

Run (from this folder):
    SLOWAPI_APP_ANSWER=envelope python -m uvicorn slowapi_app:app --host 127.0.0.1 --port <port>

Configuration, read once at import (environment variables):
    SLOWAPI_APP_LIMIT      the limit of /v1/items: a `limits` rate string, default "50/second",
                           or "none" (the route is not decorated: never limited)
    SLOWAPI_APP_SEARCH_LIMIT  the limit of /v1/search, default "10/second"
    SLOWAPI_APP_STRATEGY   "fixed-window" (default), "moving-window" or "sliding-window-counter"
    SLOWAPI_APP_ANSWER     how a rejected request is answered:
        "envelope" (default)  the API's own answer: 429 with the envelope
                              {"error": {"code": "RATE_LIMIT_ERROR", "message": "Rate limit
                              exceeded: 50 calls per 1 seconds", "details": {}}, "request_id"},
                              `X-Request-ID` = that id, and `Retry-After` from the limiter's reset
                              (whole seconds, rounded up, at least 1). No X-RateLimit-* headers.
        "default"             slowapi's own default handler with headers_enabled=True:
                              {"error": "Rate limit exceeded: 50 per 1 second"} with
                              X-RateLimit-Limit / -Remaining / -Reset and Retry-After as slowapi
                              computes them, and the X-RateLimit-* headers on every 200 too.

Endpoints:
    GET /v1/items/{item_id}   200 {"ok": true}; one limit for the route (every item and
                              client share it: slowapi's key_style="endpoint", keyed by the
                              remote address, always 127.0.0.1 here)
    GET /v1/search?q=...      200 {"ok": true}; its own limit, SLOWAPI_APP_SEARCH_LIMIT, apart
                              from /v1/items' (a 429 on one says nothing about the other)
    GET /stats                {"requests": n, "rejected": m, "routes": {"/v1/items":
                              {"requests": n, "rejected": m}, ...}}: requests to any other path
                              and how many of them were answered 429, in all and per route (the
                              path's first two segments); not rate limited itself
"""

import math
import os
import time
import uuid

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

LIMIT = os.environ.get("SLOWAPI_APP_LIMIT", "50/second")
SEARCH_LIMIT = os.environ.get("SLOWAPI_APP_SEARCH_LIMIT", "10/second")
STRATEGY = os.environ.get("SLOWAPI_APP_STRATEGY", "fixed-window")
ANSWER = os.environ.get("SLOWAPI_APP_ANSWER", "envelope")
if ANSWER not in ("envelope", "default"):
    raise SystemExit(f"SLOWAPI_APP_ANSWER must be envelope or default, not {ANSWER!r}")

limiter = Limiter(
    key_func=get_remote_address,
    strategy=STRATEGY,
    headers_enabled=ANSWER == "default",
    key_style="endpoint",
)

api = FastAPI()
api.state.limiter = limiter


def _api_envelope(request: Request, exc: RateLimitExceeded) -> Response:
    """The API's rate-limit answer, its wait computed from the limiter's own reset time."""
    item, identifiers = request.state.view_rate_limit
    reset_at, _remaining = limiter.limiter.get_window_stats(item, *identifiers)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    request_id = str(uuid.uuid4())
    return JSONResponse(
        status_code=429,
        content={
            "error": {
                "code": "RATE_LIMIT_ERROR",
                "message": f"Rate limit exceeded: {item.amount} calls per {item.get_expiry()} seconds",
                "details": {},
            },
            "request_id": request_id,
        },
        headers={"Retry-After": str(retry_after), "X-Request-ID": request_id},
    )


api.add_exception_handler(
    RateLimitExceeded,
    _api_envelope if ANSWER == "envelope" else _rate_limit_exceeded_handler,
)


async def item(request: Request, response: Response, item_id: str):
    # `response` is where slowapi puts its X-RateLimit-* headers on a 200.
    return {"ok": True}


if LIMIT != "none":
    item = limiter.limit(LIMIT)(item)
api.get("/v1/items/{item_id}")(item)


@api.get("/v1/search")
@limiter.limit(SEARCH_LIMIT)
async def search(request: Request, response: Response, q: str = ""):
    return {"ok": True}


def _route(path):
    """The route a path is counted under: its first two segments (`/v1/items/7` -> `/v1/items`)."""
    return "/".join(path.split("/")[:3])


class _Counted:
    """Counts requests and 429s around the whole app (plain ASGI: no per-request task)."""

    def __init__(self, inner):
        self.inner = inner
        self.requests = 0
        self.rejected = 0
        self.routes = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        if scope["path"] == "/stats":
            stats = JSONResponse(
                {"requests": self.requests, "rejected": self.rejected, "routes": self.routes}
            )
            return await stats(scope, receive, send)
        self.requests += 1
        route = self.routes.setdefault(_route(scope["path"]), {"requests": 0, "rejected": 0})
        route["requests"] += 1

        async def counting_send(message):
            if message["type"] == "http.response.start" and message["status"] == 429:
                self.rejected += 1
                route["rejected"] += 1
            await send(message)

        return await self.inner(scope, receive, counting_send)


app = _Counted(api)
