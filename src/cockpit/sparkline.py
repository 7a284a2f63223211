"""Text sparklines: a series of numbers as one line of block characters.

Shared by the screen (the Monitor's rows) and the evidence (the incident report's history),
so both draw a series the same way: gaps stay gaps, and several parts can share one scale.
"""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(
    values: Sequence[float | None],
    width: int,
    scale: tuple[float, float] | None = None,
) -> str:
    """The newest ``width`` values as bars (a space for a gap), scaled to their own range or
    to ``scale`` (low, high)."""
    recent = list(values)[-width:] if width > 0 else []
    numbers = [v for v in recent if v is not None]
    if not numbers:
        return " " * len(recent)
    low, high = scale if scale is not None else (min(numbers), max(numbers))
    span = high - low
    out = []
    for v in recent:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(BARS[0])
        else:
            level = int((v - low) / span * (len(BARS) - 1) + 0.5)
            out.append(BARS[max(0, min(len(BARS) - 1, level))])
    return "".join(out)


def buckets(
    points: Sequence[tuple[float, float | None]], start: float, end: float, cells: int
) -> list[float | None]:
    """``points`` (time, value) over [start, end] as ``cells`` values, each the mean of the
    points in its share of the span (None where there was none: a gap stays visible)."""
    if cells <= 0:
        return []
    span = max(end - start, 1e-9)
    sums = [0.0] * cells
    counts = [0] * cells
    for t, v in points:
        if v is None:
            continue
        cell = min(cells - 1, max(0, int((t - start) / span * cells)))
        sums[cell] += v
        counts[cell] += 1
    return [sums[n] / counts[n] if counts[n] else None for n in range(cells)]


def data_start(start: float, points: Sequence[tuple[float, float | None]]) -> float:
    """Where a history's data begins: its first point when that is after ``start`` (a young
    Prometheus), so that the cells draw data rather than the time before it."""
    first = next((t for t, v in points if v is not None), None)
    return max(start, first) if first is not None else start
