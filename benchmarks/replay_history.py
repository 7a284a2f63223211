"""What a replay's Prometheus history costs a metric row, beside the live cockpit's history.

A row of ``profiles/demo-prometheus.toml``'s error rate, 120 columns wide, drawn (best of 5
repeats of N draws each, in the same run):

- with no history (the journal's samples alone);
- with the history the live cockpit reads when it opens (600 points): its 1 s refresh;
- with a replay's Prometheus history of 2,000 points, playing (the replayed moment moves
  at every draw, as every 0.1 s while playing), and paused (the same moment, the 1 s
  refresh).

Target: a playing replay's row costs no more than the live cockpit's row with history.

Run: ``.venv/bin/python benchmarks/replay_history.py [--draws 2000]``
"""

from __future__ import annotations

import argparse
import tempfile
import timeit
from pathlib import Path

from cockpit.clock import FakeClock
from cockpit.engine.state import Past
from cockpit.probes.history import MetricHistory
from cockpit.replay_history import summarise
from cockpit.sample import Sample, Status
from cockpit.session import Session
from cockpit.ui import render

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "demo-prometheus.toml"
WALL = 1_800_000_000.0
WIDTH = 116


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(WALL)
        env = {"COCKPIT_DEMO_STATE": tmp, "COCKPIT_DEMO_URL": "http://127.0.0.1:9"}
        session = Session.create(PROFILE, sessions_dir=Path(tmp), environ=env, clock=clock)
        for n in range(120):
            clock.advance(1)
            value = 0.1 * (n % 9)
            session.on_sample(Sample("error-rate", Status.PASS, value, "%", clock.wall(), ""))
        state = session.state
        metric = state.profile.metric("error-rate") if state.profile else None
        assert metric is not None
        start, end = WALL - 900, clock.wall()

        def points(count: int) -> tuple[tuple[float, float | None], ...]:
            step = (end - start) / count
            return tuple((start + k * step, 1.0 + k % 7) for k in range(count))

        live = Past(start, WALL, (end - start) / 600, points(600))
        replay = summarise([MetricHistory("error-rate", start, end, 0.5, points(2000))], start, end)
        moments = iter(range(10**9))

        def playing() -> object:
            wall = end - (next(moments) % 100) * 0.1  # a new moment at every draw
            return render.metric_row(metric, state, wall, WIDTH, replay.past_at("error-rate", wall))

        cases = {
            "no history": lambda: render.metric_row(metric, state, end, WIDTH),
            "live history, 600 points (peer)": lambda: render.metric_row(
                metric, state, end, WIDTH, live
            ),
            "replay, 2000 points, playing": playing,
            "replay, 2000 points, paused": lambda: render.metric_row(
                metric, state, end, WIDTH, replay.past_at("error-rate", end)
            ),
        }
        for name, draw in cases.items():
            best = min(timeit.repeat(draw, number=args.draws, repeat=5)) / args.draws
            print(f"{name:34s} {best * 1e6:8.0f} µs per row")
        session.journal.close()


if __name__ == "__main__":
    main()
