#!/usr/bin/env python3
"""Writes the seed inputs in seeds/<target>/ in the byte layout `arbitrary` 1.x decodes.

Run from fuzz/: python3 seeds/make_seeds.py. Check one with
`cargo +nightly fuzz fmt parse_response seeds/parse_response/envelope_429`.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ["retry-after", "x-request-id", "request-id", "x-correlation-id",
         "x-amzn-requestid", "content-type", "x-other"]


def variant(index, count):
    """The u32 that derive(Arbitrary) maps to variant `index` of `count`: (x * count) >> 32."""
    return struct.pack("<I", -(-(index << 32) // count))


def flagged(items):
    """A Vec decoded by arbitrary_iter: a byte with the low bit set before each element, then 0."""
    return b"".join(b"\x01" + item for item in items) + b"\x00"


def response(status, body, headers=(), limit=None, now=1_700_000_000):
    out = struct.pack("<H", status - 100)  # mapped back with 100 + status % 900
    out += variant(0, 2) if limit is None else variant(1, 2) + struct.pack("<H", limit)
    out += struct.pack("<I", now)
    out += flagged(
        variant(NAMES.index(name.lower()), len(NAMES)) + flagged(bytes([b]) for b in value)
        for name, value in headers
    )
    return out + body  # the last field takes the rest, raw


def retry_after(value, now=784111777, nanos=0):
    return struct.pack("<qI", now, nanos) + value


RID = b"550e8400-e29b-41d4-a716-446655440000"
ENVELOPE = (b'{"error":{"code":"RATE_LIMIT_ERROR","message":"Rate limit exceeded: 100 calls per 60 '
            b'seconds","details":{}},"request_id":"' + RID + b'"}')
HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
            b"Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")

PARSE_RESPONSE = {
    "envelope_429": response(429, ENVELOPE, [("Retry-After", b"1"), ("X-Request-ID", RID)]),
    "usage_limit_429": response(429, b'{"error":{"code":"USAGE_LIMIT_EXCEEDED","message":"Monthly '
                                b'API call limit reached","details":{}},"request_id":"req-42"}'),
    "detail_string_404": response(404, b'{"detail":"Rule not found"}'),
    "detail_object_403": response(403, b'{"detail":{"code":"AUTHZ_ERROR","message":"API key lacks '
                                  b'required authorization for this operation","field":"scope"}}'),
    "detail_list_422": response(422, b'{"detail":[{"type":"less_than_equal","loc":["query","limit"],'
                                b'"msg":"Input should be less than or equal to 100","input":"500",'
                                b'"ctx":{"le":100}},{"type":"missing","loc":["body","items",0,"count"],'
                                b'"msg":"Field required","input":{"name":"a"}}]}'),
    "html_502": response(502, HTML_502, [("Content-Type", b"text/html"),
                                         ("Retry-After", b"Sun, 06 Nov 1994 08:49:47 GMT")], now=784111777),
    "plain_500": response(500, b"Internal Server Error", [("Content-Type", b"text/plain; charset=utf-8")]),
    "empty_503": response(503, b"", [("Retry-After", b"120"), ("x-amzn-RequestId", b"amzn-1")]),
    "truncated_json_500": response(500, b'{"error":{"code":"TIMEOUT","message":"Operation tim'),
    "wrong_types_400": response(400, b'{"detail":{"code":7,"message":["x"]},"request_id":{}}',
                                [("Request-Id", b"req-h")]),
    "rfc850_date_429": response(429, ENVELOPE, [("Retry-After", b"Sunday, 06-Nov-94 08:49:47 GMT")],
                                now=784111777),
    "asctime_date_429": response(429, ENVELOPE, [("Retry-After", b"Sun Nov  6 08:49:47 1994")],
                                 now=784111777),
    "small_limit_413": response(413, b'{"detail":"' + b"x" * 1100 + b'"}', limit=1024),
    "invalid_utf8_400": response(400, b'{"detail":"bad \xff\xfe bytes"}\n\xc3',
                                 [("X-Correlation-ID", b"corr-\x80\xff")]),
}

RETRY_AFTER = {
    "delay_2": retry_after(b"2"),
    "delay_spaces": retry_after(b" 120\t"),
    "delay_zero": retry_after(b"0"),
    "delay_huge": retry_after(b"99999999999999999999999999999"),
    "imf_fixdate": retry_after(b"Sun, 06 Nov 1994 08:49:47 GMT"),
    "rfc850": retry_after(b"Sunday, 06-Nov-94 08:49:47 GMT"),
    "asctime": retry_after(b"Sun Nov  6 08:49:47 1994"),
    "past_date": retry_after(b"Thu, 01 Jan 1970 00:00:00 GMT"),
    "negative": retry_after(b"-1"),
    "fraction": retry_after(b"1.5"),
    "garbage": retry_after(b"soon"),
    "empty": retry_after(b""),
    "before_epoch_clock": retry_after(b"Wed, 31 Dec 1969 23:59:59 GMT", now=-5, nanos=999_999_999),
}

for target, seeds in [("parse_response", PARSE_RESPONSE), ("retry_after", RETRY_AFTER)]:
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")
