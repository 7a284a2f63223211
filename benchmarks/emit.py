"""The benchmarks' tables: printed for a person, and recorded for ``report.py`` (BENCHMARKS.md).

Every benchmark prints its figures as a table (what | measured | target | verdict | note, and
the peer measured in the same run with the ratio to it where there is one). When the variable
``COCKPIT_BENCH_JSON`` names a file, each table is also appended to it as one JSON line; the
collector (``benchmarks/report.py``) sets it and merges the tables into BENCHMARKS.md. A
curve (a figure at growing sizes) is printed with its growth per doubling of the size, and
flagged when it grows faster than linear.

This module imports nothing heavy: the core benchmarks use it without tmux or Textual.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

JSON_VARIABLE = "COCKPIT_BENCH_JSON"
SUPER_LINEAR = 2.2
"""Growth per doubling of the size above which a curve is called super-linear: linear is at
most 2.0 (less with a fixed base); the margin is the noise of a shared machine."""


@dataclass
class Row:
    """One figure of a table."""

    what: str
    measured: str
    target: str = ""
    verdict: str = ""
    note: str = ""
    peer: str = ""
    """The peer's figure measured in the same run (glances, htop, btop, the raw floor)."""
    ratio: str = ""
    """The figure over the peer's."""


# ---------------------------------------------------------------- figures


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (with few runs, p99 is the maximum)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def verdict(value: float, target: float, *, higher_is_better: bool = False) -> str:
    if math.isnan(value):
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "OK" if ok else "MISS"


def ratio(value: float, peer: float) -> str:
    """``value / peer`` as ``1.23x`` (``n/a`` without a peer)."""
    if math.isnan(value) or math.isnan(peer) or peer <= 0:
        return "n/a"
    return f"{value / peer:.2f}x"


# ---------------------------------------------------------------- tables


def _as_row(row: Row | Sequence[str]) -> Row:
    if isinstance(row, Row):
        return row
    cells = [str(c) for c in row] + [""] * 5
    return Row(*cells[:5])


def print_table(title: str, rows: Sequence[Row | Sequence[str]], *, area: str = "") -> None:
    """A small aligned table; also recorded when ``COCKPIT_BENCH_JSON`` names a file."""
    figures = [_as_row(r) for r in rows]
    with_peers = any(r.peer or r.ratio for r in figures)
    header = ["what", "measured"]
    header += ["peer (same run)", "ratio"] if with_peers else []
    header += ["target", "verdict", "note"]

    def cells(r: Row) -> list[str]:
        middle = [r.peer, r.ratio] if with_peers else []
        return [r.what, r.measured, *middle, r.target, r.verdict, r.note]

    table = [header, *(cells(r) for r in figures)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print(f"\n{title}")
    for index, line in enumerate(table):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            print("  " + "  ".join("-" * w for w in widths))
    record({"kind": "table", "title": title, "area": area, "rows": [asdict(r) for r in figures]})


def growth_per_doubling(points: Sequence[tuple[float, float]]) -> list[float]:
    """For each point after the first: (v2 / v1) ** (1 / log2(n2 / n1)) against the one before.

    Linear growth from zero is 2.0 per doubling; with a fixed base it is less.
    """
    out = []
    for (n1, v1), (n2, v2) in itertools.pairwise(points):
        if v1 <= 0 or v2 <= 0 or n2 <= n1 or math.isnan(v1) or math.isnan(v2):
            out.append(float("nan"))
        else:
            out.append((v2 / v1) ** (1 / math.log2(n2 / n1)))
    return out


def print_curve(
    title: str,
    size_name: str,
    unit: str,
    points: Sequence[tuple[float, float]],
    *,
    labels: Sequence[str] = (),
    area: str = "",
    note: str = "",
) -> None:
    """A figure at growing sizes, with its growth per doubling; super-linear is flagged.

    ``points``: (size, value); ``labels``: how each size is written (default: the number).
    """
    names = list(labels) or [f"{n:g}" for n, _ in points]
    growth = growth_per_doubling(points)
    rows = []
    for index, (name, (_, value)) in enumerate(zip(names, points, strict=True)):
        if index == 0:
            rows.append([name, f"{value:.3g} {unit}", "", "base"])
            continue
        g = growth[index - 1]
        if math.isnan(g):
            rows.append([name, f"{value:.3g} {unit}", "n/a", "n/a"])
        else:
            flag = "SUPER-LINEAR" if g > SUPER_LINEAR else "OK"
            rows.append([name, f"{value:.3g} {unit}", f"{g:.2f}x", flag])
    table = [[size_name, "measured", "growth per doubling", "verdict"], *rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    print(f"\n{title}" + (f" ({note})" if note else ""))
    for index, line in enumerate(table):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * w for w in widths))
    record(
        {
            "kind": "curve",
            "title": title,
            "area": area,
            "note": note,
            "size_name": size_name,
            "unit": unit,
            "points": [[name, value] for name, (_, value) in zip(names, points, strict=True)],
            "growth": [None if math.isnan(g) else g for g in growth],
        }
    )


def record(table: dict[str, object]) -> None:
    """Append ``table`` as one JSON line to the file ``COCKPIT_BENCH_JSON`` names, if any."""
    target = os.environ.get(JSON_VARIABLE)
    if not target:
        return
    table = {"script": Path(sys.argv[0]).stem, **table}
    with open(target, "a", encoding="utf-8") as f:
        f.write(json.dumps(table, ensure_ascii=False) + "\n")
