"""A small FastAPI app that fails the way the API does, for the Rust tests to drive.

Run (from this folder), either way:
    python -m uvicorn app:app --host 127.0.0.1 --port <port>
    python app.py [port]          # port from argv, else $PORT, else 8000; always 127.0.0.1

Endpoints (see README.md and observed/ for the exact responses):
    GET  /health               200 {"ok": true}
    GET  /rules/{id}           200 for "1", else HTTPException(404, detail="Rule not found")
    GET  /files/{id}           HTTPException(403, detail={code: AUTHZ_ERROR, message, field: scope})
    GET  /search?limit=<int>   FastAPI's own 422 list when limit is not an int <= 100
    POST /items                pydantic body {name: str, count: int}; FastAPI's own 422 list
    GET|POST /boom             unhandled exception: the framework's plain-text 500
    GET  /limited              the rate limiter's 429 envelope, Retry-After: 1, X-Request-ID
    (any request with header X-Force-Rate-Limit: 1 gets that 429 too)
    GET  /flaky                that 429 on the first call per X-Test-Key value, 200 afterwards
    GET  /usage                429 envelope USAGE_LIMIT_EXCEEDED, no Retry-After
    POST /echo-headers         400 {"detail": {"code": "BAD", "message": <request headers>}}
"""

import os
import sys
import uuid

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

app = FastAPI()

# Calls to /flaky per X-Test-Key value. Only touched from the middleware, which runs on the
# event loop, so no lock is needed.
_flaky_calls: dict[str, int] = {}


def _rate_limited() -> JSONResponse:
    """The API's rate limiter: the envelope, the same uuid4 in body and header, Retry-After."""
    request_id = str(uuid.uuid4())
    return JSONResponse(
        status_code=429,
        content={
            "error": {
                "code": "RATE_LIMIT_ERROR",
                "message": "Rate limit exceeded: 100 calls per 60 seconds",
                "details": {},
            },
            "request_id": request_id,
        },
        headers={"Retry-After": "1", "X-Request-ID": request_id},
    )


@app.middleware("http")
async def rate_limiter(request: Request, call_next):
    """Answers like the API's rate-limiting middleware, before any route runs."""
    if request.url.path == "/limited" or request.headers.get("x-force-rate-limit") == "1":
        return _rate_limited()
    if request.url.path == "/flaky":
        key = request.headers.get("x-test-key", "")
        calls = _flaky_calls.get(key, 0) + 1
        _flaky_calls[key] = calls
        if calls == 1:
            return _rate_limited()
        request.state.flaky_calls = calls
    return await call_next(request)


@app.get("/health")
def health():
    return {"ok": True}


@app.get("/flaky")
def flaky(request: Request):
    return {"recovered": True, "calls": request.state.flaky_calls}


@app.get("/rules/{rule_id}")
def rule(rule_id: str):
    if rule_id != "1":
        raise HTTPException(status_code=404, detail="Rule not found")
    return {"id": 1, "name": "Rule 1"}


@app.get("/files/{file_id}")
def file(file_id: str):
    raise HTTPException(
        status_code=403,
        detail={
            "code": "AUTHZ_ERROR",
            "message": "API key lacks required authorization for this operation",
            "field": "scope",
        },
    )


@app.get("/search")
def search(limit: int = Query(le=100)):
    return {"limit": limit, "results": []}


class Item(BaseModel):
    name: str
    count: int


@app.post("/items")
def items(item: Item):
    return item


@app.get("/usage")
def usage():
    # Raised by the API's usage middleware in the envelope shape, without Retry-After: waiting
    # seconds does not lift a monthly limit.
    return JSONResponse(
        status_code=429,
        content={
            "error": {
                "code": "USAGE_LIMIT_EXCEEDED",
                "message": "Monthly API call limit reached",
                "details": {},
            },
            "request_id": "req-usage",
        },
    )


@app.api_route("/boom", methods=["GET", "POST"])
def boom():
    # Unhandled: Starlette's ServerErrorMiddleware answers 500 "Internal Server Error" in plain
    # text and re-raises; uvicorn logs the traceback on stderr and keeps serving.
    raise RuntimeError("unhandled")


@app.post("/echo-headers")
async def echo_headers(request: Request):
    # A careless server that echoes every request header, Authorization included, into its
    # error body: the client must still never show the key.
    echoed = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
    raise HTTPException(status_code=400, detail={"code": "BAD", "message": f"headers were {echoed}"})


def _port() -> int:
    if len(sys.argv) > 1:
        return int(sys.argv[1])
    return int(os.environ.get("PORT", "8000"))


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=_port())
