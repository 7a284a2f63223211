"""A Prometheus metric's history: one range query through ``/api/v1/query_range``.

Read once when a cockpit opens, so that the Monitor sees what the metric did before (and when
it went bad), and an incident has a baseline from before it. Like a probe it never raises:
every failure (Prometheus down, ``status: error``, several series, a malformed answer, the
total deadline) is a one-line reason, redacted and inert, and the history is then empty.

Reading the matrix: a value of NaN or infinity is a gap (``None``), never a number; points
whose timestamp is not finite or lies outside the window asked for are dropped; an empty
matrix is "no data in the window". The answer's size is capped like a probe's body.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cockpit.clock import Clock
from cockpit.probes.base import HttpClients, ProbeContext
from cockpit.probes.http import BodyTooLarge, RequestFailed, fetch
from cockpit.profile.models import MAX_HISTORY_POINTS, Metric, PrometheusSource

KEEP_POINTS = 600
"""Most points kept (and recorded) per metric: more are averaged into this many. A sparkline
is a few dozen cells wide; 600 keeps the start of a RED stretch precise to 1/600 window."""

Point = tuple[float, float | None]

NO_DATA = "no data in the window"
"""The reason when Prometheus answered with an empty matrix."""
NO_NUMBER = "no number in the window"
"""The start of the reason when every value it answered was NaN or infinite."""


@dataclass(frozen=True)
class MetricHistory:
    """What a range query gave for one metric.

    Attributes:
        metric_id: The metric.
        start: The window asked for, from (wall time, epoch seconds)...
        end: ...to.
        step: Seconds between points (after averaging, when there were too many).
        points: (time, value) in time order; ``None`` for a gap (NaN, +Inf).
        error: Why there is no history, or None.
        unreachable: Prometheus gave no answer (refused, unresolvable, the deadline): the
            error is about reaching it, not about what it said.
    """

    metric_id: str
    start: float
    end: float
    step: float
    points: tuple[Point, ...] = ()
    error: str | None = None
    unreachable: bool = False

    @property
    def no_data(self) -> bool:
        """Prometheus answered with no data for the window asked for (an empty matrix)."""
        return self.error == NO_DATA


class _BadMatrix(Exception):
    """The answer does not have the shape of a range query's result."""


def _number(text: Any) -> float | None:
    if not isinstance(text, str):
        raise _BadMatrix(f"a value is {type(text).__name__}, not a string")
    try:
        value = float(text)
    except ValueError:
        raise _BadMatrix(f"value '{text}' is not a number") from None
    return value if math.isfinite(value) else None


def parse_matrix(data: Any, start: float, end: float) -> list[Point]:
    """The points of a one-series matrix, in time order (gaps as ``None``).

    Raises:
        _BadMatrix: not a matrix, several series, or a malformed point.
    """
    if not isinstance(data, dict):
        raise _BadMatrix("the answer has no data object")
    if data.get("resultType") != "matrix":
        raise _BadMatrix(f"result type {data.get('resultType')!r}, not a matrix")
    result = data.get("result")
    if not isinstance(result, list):
        raise _BadMatrix("the matrix is not a list")
    if len(result) > 1:
        raise _BadMatrix(f"{len(result)} series; aggregate with sum()/max()")
    if not result:
        return []
    series = result[0]
    values = series.get("values") if isinstance(series, dict) else None
    if not isinstance(values, list):
        raise _BadMatrix("the series has no list of values")
    if len(values) > MAX_HISTORY_POINTS:
        raise _BadMatrix(f"{len(values):,} points, more than Prometheus's own limit")
    points: list[Point] = []
    for pair in values:
        if not isinstance(pair, list) or len(pair) != 2:
            raise _BadMatrix("a point is not [timestamp, value]")
        ts = pair[0]
        if isinstance(ts, bool) or not isinstance(ts, int | float):
            raise _BadMatrix("a timestamp is not a number")
        stamp = float(ts)
        if not math.isfinite(stamp) or not start - 1 <= stamp <= end + 1:
            continue  # outside the window asked for: never part of it
        points.append((stamp, _number(pair[1])))
    points.sort(key=lambda p: p[0])
    return points


def thin(points: Sequence[Point], keep: int = KEEP_POINTS) -> tuple[list[Point], int]:
    """At most ``keep`` points: consecutive runs averaged (gaps ignored; a run of gaps stays
    a gap). Returns the points and how many went into each."""
    if len(points) <= keep:
        return list(points), 1
    per = math.ceil(len(points) / keep)
    out: list[Point] = []
    for index in range(0, len(points), per):
        run = points[index : index + per]
        numbers = [v for _, v in run if v is not None]
        out.append((run[0][0], sum(numbers) / len(numbers) if numbers else None))
    return out, per


async def query_range(
    source: PrometheusSource,
    *,
    start: float,
    end: float,
    step: float,
    ctx: ProbeContext,
) -> tuple[list[Point], str | None]:
    """Run ``source.query`` over [start, end] every ``step`` seconds; (points, error)."""
    points, error, _ = await _ask(source, start=start, end=end, step=step, ctx=ctx)
    return points, error


async def _ask(
    source: PrometheusSource,
    *,
    start: float,
    end: float,
    step: float,
    ctx: ProbeContext,
) -> tuple[list[Point], str | None, bool]:
    """:func:`query_range`, and whether the error is that Prometheus gave no answer."""
    url = source.url.rstrip("/") + "/api/v1/query_range"
    params = {
        "query": source.query,
        "start": f"{start:.3f}",
        "end": f"{end:.3f}",
        "step": f"{step:g}",
    }
    try:
        code, body = await fetch(
            ctx.http, "GET", url, headers=dict(source.headers) or None, params=params
        )
    except BodyTooLarge as exc:
        return [], f"Prometheus: {exc}", False
    except RequestFailed as exc:
        return [], f"Prometheus at {source.url}: {exc}", True
    try:
        doc = json.loads(body)
    except ValueError:
        snippet = ctx.quote(body.decode("utf-8", "replace"), 60)
        return [], f"Prometheus answered HTTP {code} with non-JSON: {snippet}", False
    if not isinstance(doc, dict):
        return [], f"Prometheus answered HTTP {code} with JSON that is not an object", False
    if doc.get("status") != "success":
        kind = doc.get("errorType") or "error"
        return (
            [],
            f"Prometheus {kind} (HTTP {code}): {doc.get('error') or 'no reason given'}",
            False,
        )
    if code != 200:
        return [], f"Prometheus answered HTTP {code}", False
    try:
        points = parse_matrix(doc.get("data"), start, end)
    except _BadMatrix as exc:
        return [], f"Prometheus: {exc}", False
    if not points:
        return [], NO_DATA, False
    if all(v is None for _, v in points):
        return [], f"{NO_NUMBER}: all {len(points)} values are NaN or infinite", False
    return points, None, False


async def fetch_history(
    metric: Metric,
    *,
    start: float,
    end: float,
    step: float,
    timeout: float,
    clock: Clock,
    secrets: Sequence[str] = (),
    clients: HttpClients | None = None,
    keep: int = KEEP_POINTS,
) -> MetricHistory:
    """The history of one Prometheus metric, within ``timeout`` seconds in total, thinned to
    at most ``keep`` points; never raises (except ``CancelledError``). A metric of another
    source has "no history"."""
    source = metric.source
    if not isinstance(source, PrometheusSource):
        return MetricHistory(
            metric.id, start, end, step, error=f"no history ({source.kind} source)"
        )
    own = clients is None
    http = clients or HttpClients()
    ctx = ProbeContext(
        id=metric.id,
        threshold=None,
        unit=metric.unit,
        timeout=timeout,
        clock=clock,
        secrets=tuple(secrets),
        http=http,
    )
    try:
        async with asyncio.timeout(timeout):
            points, error, unreachable = await _ask(
                source, start=start, end=end, step=step, ctx=ctx
            )
    except TimeoutError:
        points, error = [], f"no answer within the {timeout:g}s deadline"
        unreachable = True
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug here must become a visible reason, never a dead loop
        points, error = [], f"history failed: {type(exc).__name__}: {exc}"
        unreachable = False
    finally:
        if own:
            await http.aclose()
    if error is not None:
        reason = ctx.redact(error)
        return MetricHistory(metric.id, start, end, step, error=reason, unreachable=unreachable)
    kept, per = thin(points, keep)
    return MetricHistory(metric.id, start, end, step * per, tuple(kept))
