"""Prometheus probes: one instant query through ``/api/v1/query`` that must reduce to one value.

Fail-safe reading of the answer:

* ``status: error`` -> ERROR with Prometheus's own error text;
* ``warnings`` present -> INCONCLUSIVE (a partial answer is never evidence of health);
* a scalar -> its value; a vector with one series -> its value; several series -> ERROR
  (aggregate with ``sum()`` or ``max()``); an empty vector -> INCONCLUSIVE "no data";
* a timestamp older than the metric's staleness -> INCONCLUSIVE "stale" (a readiness check,
  which has no staleness of its own, allows :data:`DEFAULT_STALENESS` or its timeout);
* a timestamp that is not finite, or more than :data:`CLOCK_SKEW` ahead of this clock ->
  ERROR (an answer from the future would also pass any staleness check);
* a value of NaN or infinity -> ERROR.

About staleness: the timestamp of an instant query's result is the *evaluation* time, not
the time the underlying series was last scraped. The check therefore catches answers that
are old when they arrive (a caching proxy, a lagging replica, a skewed clock). A scrape
target that stopped is caught by Prometheus itself: its series get staleness markers and
drop out of instant vectors, which reads here as "no data". A ``rate(x[30s])`` keeps a
value for up to 30 s after the last scrape; profiles guard against that in PromQL (see
``profiles/demo-prometheus.toml``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from cockpit.probes.base import ProbeContext, format_value
from cockpit.probes.http import BodyTooLarge, RequestFailed, fetch
from cockpit.profile.models import PrometheusSource
from cockpit.sample import Sample

CLOCK_SKEW = 5.0
"""Seconds an answer's timestamp may lie ahead of this machine's clock.

An instant query is stamped with the Prometheus server's time of evaluation, so a timestamp
ahead of ours means the two clocks differ. NTP keeps hosts within milliseconds (the usual
alert on clock skew fires at 50 ms); Prometheus's own web UI warns of "time drift" at 30 s.
5 s allows for a slow NTP correction and still catches the skew that would hide a stale
answer (a staleness of 5 s is common).
"""

DEFAULT_STALENESS = 10.0
"""Oldest acceptable answer when the caller gives no staleness (a readiness check): the
metrics' default staleness."""


class _BadAnswer(Exception):
    """The answer does not have the shape of the Prometheus query API."""


def _parse_value(pair: Any) -> tuple[float, float]:
    """``[timestamp, "value"]`` -> (timestamp, value)."""
    # The answer's own strings go into messages whole and unescaped: the detail redacts them
    # before it cuts them (a cut or json.dumps first could leave part of a secret).
    if not isinstance(pair, list) or len(pair) != 2:
        raise _BadAnswer(f"value is {_shape(pair)}, not [timestamp, value]")
    ts, text = pair
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not isinstance(text, str):
        raise _BadAnswer(f"value is [{_shape(ts)}, {_shape(text)}], not [timestamp, value]")
    try:
        stamp = float(ts)
    except OverflowError:  # a JSON integer beyond float range
        raise _BadAnswer(f"timestamp is a {len(str(abs(ts)))}-digit number, not a time") from None
    try:
        return stamp, float(text)
    except ValueError:
        raise _BadAnswer(f"value '{text}' is not a number") from None


def _shape(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return json.dumps(value)


def _labels(series: Any) -> str:
    metric = series.get("metric") if isinstance(series, dict) else None
    if not isinstance(metric, dict):
        return "{}"
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return "{" + labels + "}"


async def probe_prometheus(source: PrometheusSource, ctx: ProbeContext) -> Sample:
    """Run ``source.query`` as an instant query and judge the single value it returns."""
    url = source.url.rstrip("/") + "/api/v1/query"
    try:
        code, body = await fetch(
            ctx.http,
            "GET",
            url,
            headers=dict(source.headers) or None,
            params={"query": source.query},
        )
    except BodyTooLarge as exc:
        return ctx.error(f"Prometheus: {exc}")
    except RequestFailed as exc:
        return ctx.error(f"Prometheus at {source.url}: {exc}")
    try:
        doc = json.loads(body)
    except ValueError:
        snippet = ctx.quote(body.decode("utf-8", errors="replace"), 60)
        return ctx.error(f"Prometheus answered HTTP {code} with non-JSON: {snippet}")
    if not isinstance(doc, dict):
        return ctx.error(f"Prometheus answered HTTP {code} with JSON that is not an object")
    if doc.get("status") != "success":
        kind = doc.get("errorType") or "error"
        text = doc.get("error") or f"status {_shape(doc.get('status'))}"
        return ctx.error(f"Prometheus {kind} (HTTP {code}): {text}")
    if code != 200:
        return ctx.error(f"Prometheus answered HTTP {code}")
    try:
        timestamp, value, series = _single_value(doc.get("data"))
    except _BadAnswer as exc:
        return ctx.error(f"Prometheus: {exc}")
    if series == 0:
        return ctx.inconclusive("no data: the query returned an empty vector")
    now = ctx.clock.wall()
    problem = _timestamp_problem(timestamp, now)
    if problem is not None:
        return ctx.error(problem)
    if not math.isfinite(value):
        return ctx.error(f"value is {format_value(value)}, not a finite number")
    warnings = doc.get("warnings")
    if warnings:
        text = "; ".join(str(w) for w in warnings) if isinstance(warnings, list) else warnings
        return ctx.inconclusive(f"Prometheus warned: {text}", value)
    # An answer carries the time of the query, so it can be as old as the query took.
    staleness = ctx.staleness if ctx.staleness is not None else max(DEFAULT_STALENESS, ctx.timeout)
    age = now - timestamp
    if age > staleness:
        return ctx.inconclusive(
            f"stale: value {format_value(value)} is {format_value(round(age))} s old "
            f"(staleness {staleness:g} s)",
            value,
        )
    return ctx.judge(value)


def _timestamp_problem(timestamp: float, now: float) -> str | None:
    """Why an answer's timestamp cannot be trusted, or ``None``."""
    if not math.isfinite(timestamp):
        return f"timestamp is {format_value(timestamp)}, not a time"
    ahead = timestamp - now
    if ahead > CLOCK_SKEW:
        return (
            f"timestamp is in the future by {format_value(round(ahead))} s "
            f"(more than the {CLOCK_SKEW:g} s clock skew allowed); check the clocks"
        )
    return None


def _single_value(data: Any) -> tuple[float, float, int]:
    """(timestamp, value, number of series) of a query result; 0 series means no data.

    Raises:
        _BadAnswer: several series, a range vector, or a malformed answer.
    """
    if not isinstance(data, dict):
        raise _BadAnswer("the answer has no data object")
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        ts, value = _parse_value(result)
        return ts, value, 1
    if kind == "vector":
        if not isinstance(result, list):
            raise _BadAnswer("the vector result is not a list")
        if not result:
            return 0.0, math.nan, 0
        if len(result) > 1:
            # The advice first: the labels may be long and the detail is cut to one line.
            shown = ", ".join(_labels(s) for s in result[:2])
            raise _BadAnswer(
                f"{len(result)} series; aggregate with sum()/max() "
                f"({shown}{', …' if len(result) > 2 else ''})"
            )
        series = result[0]
        if not isinstance(series, dict):
            raise _BadAnswer("a series is not an object")
        ts, value = _parse_value(series.get("value"))
        return ts, value, 1
    if kind == "matrix":
        raise _BadAnswer("the query returned a range vector; write an instant query")
    raise _BadAnswer(f"result type {_shape(kind)}; write a query that returns a number")
