"""HTTP probes: status, latency, a number at a JSON path, text in the body.

Readiness and liveness are the same probe: which one is measured is a matter of the URL the
profile names (``/readyz`` answers whether the service should take traffic, ``/healthz``
whether the process is alive). Latency in milliseconds is the value unless ``json_path``
names a number in the body.

Verdicts: connection refused, a timeout or an answer that is not HTTP is ERROR (nothing was
measured). A status outside ``expect_status`` or missing ``body_contains`` text is FAIL when
the response itself is what is measured (no ``json_path``: e.g. readiness answering 503),
and ERROR when ``json_path`` is given, because then the endpoint is only the carrier of the
number and a broken carrier measures nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from cockpit.probes import plainhttp
from cockpit.probes.base import MAX_BODY, HttpClients, ProbeContext, format_value
from cockpit.profile.models import HttpSource, PrometheusSource, Source
from cockpit.sample import Sample


class BodyTooLarge(Exception):
    """The endpoint answered more than :data:`MAX_BODY` bytes."""


class RequestFailed(Exception):
    """The request failed: refused, timed out, not HTTP, a bad URL. The message says how, in
    one line (:func:`describe_http_error`), whichever client sent it."""


async def fetch(
    clients: HttpClients,
    method: str,
    url: str,
    *,
    verify: bool = True,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """Send one request; the status code and at most :data:`MAX_BODY` bytes of the body.

    Plain ``http://`` URLs that no proxy applies to take the light keep-alive client; the
    rest go through httpx, which is imported only then (see ``plainhttp``).

    Raises:
        RequestFailed: the request failed.
        BodyTooLarge: the body was larger than the limit.
    """
    if clients.plain.usable(url):
        try:
            answer = await clients.plain.request(method, url, headers=headers, params=params)
        except ValueError as exc:
            raise BodyTooLarge(str(exc)) from None
        except plainhttp.PlainHttpError as exc:
            raise RequestFailed(describe_http_error(exc)) from exc
        return answer.status_code, answer.body
    import httpx

    try:
        client = clients.get(verify=verify)
        async with client.stream(method, url, headers=headers, params=params) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY:
                    raise BodyTooLarge(f"body larger than {MAX_BODY} bytes")
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError
        raise RequestFailed(describe_http_error(exc)) from exc


def needs_httpx(sources: Iterable[Source | None]) -> bool:
    """Whether any of ``sources`` is asked through httpx: an HTTP or Prometheus source off
    the plain path (https, a proxy, credentials in the URL)."""
    return any(
        isinstance(source, HttpSource | PrometheusSource) and not plainhttp.usable(source.url)
        for source in sources
    )


def describe_http_error(exc: Exception) -> str:
    """One line for a failed request (an error of either client): what went wrong, without a
    traceback."""
    if isinstance(exc, plainhttp.PlainHttpError):
        if isinstance(exc, plainhttp.ConnectError):
            return f"cannot connect: {exc or 'connection failed'}"
        if isinstance(exc, plainhttp.RemoteProtocolError | plainhttp.LocalProtocolError):
            return f"not a valid HTTP answer: {exc}"
        return f"{type(exc).__name__}: {exc}"
    import httpx  # not an error of the plain client: then httpx, imported already, raised it

    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc or 'connection failed'}"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return f"not a valid HTTP answer: {exc}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"bad URL: {exc}"
    return f"{type(exc).__name__}: {exc}"


def number_at(doc: Any, path: str) -> float:
    """The number at a dotted path (``window.p99_ms``; list items by index, ``items.0.x``).

    Raises:
        LookupError: with a message naming the part of the path that is missing or wrong.
    """
    node = doc
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        here = ".".join(walked)
        if isinstance(node, dict):
            if part not in node:
                raise LookupError(f"no '{here}' in the JSON body")
            node = node[part]
        elif isinstance(node, list) and part.isdigit():
            if int(part) >= len(node):
                raise LookupError(f"no '{here}' in the JSON body (list of {len(node)})")
            node = node[int(part)]
        else:
            raise LookupError(f"{'.'.join(walked[:-1]) or 'the body'} is not an object")
    # bool is an int in Python, but true/false is not a measurement.
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise LookupError(f"'{path}' is {_describe(node)}, not a number")
    try:
        return float(node)
    except OverflowError:  # a JSON integer beyond float range
        raise LookupError(f"'{path}' is a {len(str(abs(node)))}-digit number, too large") from None


def _describe(node: Any) -> str:
    """A JSON value in a message. A string is given whole and as it was (no JSON escapes, no
    cut): the detail redacts it before it is shortened."""
    if isinstance(node, str):
        return f"'{node}'"
    if isinstance(node, dict):
        return "an object"
    if isinstance(node, list):
        return f"a list of {len(node)}"
    return json.dumps(node)


async def probe_http(source: HttpSource, ctx: ProbeContext) -> Sample:
    """Request ``source.url`` once and judge status, body and value."""
    started = ctx.clock.monotonic()
    try:
        code, body = await fetch(
            ctx.http,
            source.method,
            source.url,
            verify=source.verify_tls,
            headers=dict(source.headers) or None,
        )
    except BodyTooLarge as exc:
        return ctx.error(str(exc))
    except RequestFailed as exc:
        return ctx.error(str(exc))
    latency_ms = (ctx.clock.monotonic() - started) * 1000.0
    carrier = source.json_path is not None
    if code not in source.expect_status:
        expected = ", ".join(str(s) for s in source.expect_status)
        detail = f"HTTP {code} (expected {expected}): {ctx.redact(_text(body), 80)}"
        return ctx.error(detail) if carrier else ctx.fail(detail)
    if source.body_contains is not None and source.body_contains not in _text(body):
        detail = f"HTTP {code} but the body does not contain {ctx.quote(source.body_contains)}"
        return ctx.error(detail) if carrier else ctx.fail(detail)
    if source.json_path is None:
        return ctx.judge(latency_ms, f"HTTP {code}")
    try:
        doc = json.loads(body)
    except ValueError:
        return ctx.error(f"HTTP {code} but the body is not JSON: {ctx.quote(_text(body), 60)}")
    try:
        value = number_at(doc, source.json_path)
    except LookupError as exc:
        return ctx.error(str(exc))
    if not math.isfinite(value):
        return ctx.error(f"{source.json_path} is {format_value(value)}, not a finite number")
    return ctx.judge(value, f"HTTP {code} in {latency_ms:.0f} ms")


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")
