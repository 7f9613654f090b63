"""A small FastAPI app that fails the way the API does, for the Rust tests to drive.

Run: python -m uvicorn app:app --host 127.0.0.1 --port <port>   (from this folder)
"""

import uuid

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

app = FastAPI()
_seen_flaky: set[str] = set()


def _rate_limited() -> JSONResponse:
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
    """Answers like the API's rate-limiting middleware: the envelope, a request id, Retry-After."""
    if request.url.path == "/limited" or request.headers.get("x-force-rate-limit") == "1":
        return _rate_limited()
    if request.url.path == "/flaky":
        key = request.headers.get("x-test-key", "")
        if key not in _seen_flaky:
            _seen_flaky.add(key)
            return _rate_limited()
    return await call_next(request)


@app.get("/health")
def health():
    return {"ok": True}


@app.get("/flaky")
def flaky():
    return {"recovered": True}


@app.get("/rules/{rule_id}")
def rule(rule_id: str):
    if rule_id != "1":
        raise HTTPException(status_code=404, detail="Rule not found")
    return {"id": 1}


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
    return {"limit": limit}


class Item(BaseModel):
    name: str
    count: int


@app.post("/items")
def items(item: Item):
    return item


@app.get("/usage")
def usage():
    return JSONResponse(
        status_code=429,
        content={
            "error": {"code": "USAGE_LIMIT_EXCEEDED", "message": "Monthly API call limit reached", "details": {}},
            "request_id": "req-usage",
        },
    )


@app.api_route("/boom", methods=["GET", "POST"])
def boom():
    raise RuntimeError("unhandled")


@app.post("/echo-headers")
async def echo_headers(request: Request):
    echoed = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
    raise HTTPException(status_code=400, detail={"code": "BAD_REQUEST", "message": f"headers were {echoed}"})
