"""An incident's first frame and R on it, beside a deploy's first frame (PERFORMANCE.md).

Three kinds of run, interleaved so that drift hits them alike, each in its own 120x40 tmux
pane against the running demo service:

- ``deploy``: ``cockpit run`` on a copy of the demo profile; first paint is ``BRIEFING``;
- ``incident``: ``cockpit incident`` on the same copy; first paint is ``INCIDENT DECLARED``
  with ``ROLL BACK NOW`` in the key bar; R is pressed the moment it is there, and the
  rollback command (``date +%s.%N > STAMP``) stamps its own start. That moment is the busiest
  of the cockpit's life (Textual's first layout, the probes' imports, the standby supervisor
  and the checks starting), so it is judged against the target under load (≤ 30 ms, as
  during an output flood);
- ``settled``: the same incident, R pressed once the start-up is over (``SETTLE`` seconds
  after the first frame; the loops start within about 0.3 s of it): judged against the idle
  target (≤ 10 ms);
- ``hanging``: the same incident, its error rate read from a "Prometheus" that takes the
  history query and never answers (the history's deadline is 10 s): neither the first paint
  nor R may wait for it.

Prints the medians; asserts nothing.

    .venv/bin/python benchmarks/incident.py [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from ui_common import (
    COCKPIT,
    DEMO_PROFILE,
    MARK_VARIABLE,
    ROOT,
    Cockpit,
    Row,
    demo_stack,
    machine,
    median,
    poll,
    print_table,
    ratio,
    read_stamp,
    verdict,
)

from cockpit.demo.stack import DemoStack


def hanging_server() -> str:
    """A server that accepts the history query and never answers; its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            held.append(conn)  # read nothing, answer nothing

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def profile(path: Path, stamp: Path, prometheus: str | None) -> Path:
    data: dict[str, Any] = tomllib.loads(DEMO_PROFILE.read_text())
    data["checks"] = [c for c in data["checks"] if c["id"] != "cpu"]
    data["rollback"]["commands"] = [["/bin/sh", "-c", 'date +%s.%N > "$1"', "sh", str(stamp)]]
    if prometheus is not None:
        error_rate = next(m for m in data["metrics"] if m["id"] == "error-rate")
        error_rate["source"] = {"kind": "prometheus", "url": prometheus, "query": "up"}
    path.write_text(tomli_w.dumps(data))
    return path


class Incident(Cockpit):
    """``cockpit incident PROFILE`` instead of ``cockpit run``."""

    def start(self) -> float:
        env = {**self.stack.env(), MARK_VARIABLE: self.marker}
        sessions = self.workdir / "sessions"
        sessions.mkdir(parents=True, exist_ok=True)
        argv = [str(COCKPIT), "incident", str(self.profile), "--sessions-dir", str(sessions)]
        t0 = time.monotonic()
        self.pane.start(argv, env=env, cwd=ROOT)
        return t0


def paint(cockpit: Cockpit, t0: float, *texts: str) -> float:
    while not all(t in cockpit.pane.screen() for t in texts):
        if time.monotonic() - t0 > 30:
            raise RuntimeError(f"{texts} not on the screen:\n{cockpit.pane.screen()}")
    return time.monotonic() - t0


def deploy_run(stack: DemoStack, workdir: Path) -> float:
    workdir.mkdir(parents=True)
    path = profile(workdir / "profile.toml", workdir / "stamp", None)
    with Cockpit(stack, path, workdir) as cockpit:
        return paint(cockpit, cockpit.start(), "BRIEFING", "PRODUCTION")


SETTLE = 2.0
"""Seconds after the first frame before a settled run presses R."""


def incident_run(
    stack: DemoStack, workdir: Path, prometheus: str | None, *, settled: bool = False
) -> tuple[float, float]:
    """First paint, and R (pressed on it, or once settled) to the rollback child's stamp."""
    workdir.mkdir(parents=True)
    stamp = workdir / "stamp"
    path = profile(workdir / "profile.toml", stamp, prometheus)
    with Incident(stack, path, workdir) as cockpit:
        first = paint(cockpit, cockpit.start(), "INCIDENT DECLARED", "ROLL BACK NOW")
        if settled:
            time.sleep(SETTLE)
        pressed = time.time()
        cockpit.pane.keys("R")
        child = poll(lambda: read_stamp(stamp), timeout=10)
        if child is None:
            raise RuntimeError("the rollback never stamped:\n" + cockpit.pane.screen())
        return first, child - pressed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    hanging = hanging_server()
    deploy: list[float] = []
    incident: list[tuple[float, float]] = []
    stalled: list[tuple[float, float]] = []
    settled: list[tuple[float, float]] = []
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        for n in range(args.runs):
            deploy.append(deploy_run(stack, Path(tmp) / f"deploy-{n}"))
            incident.append(incident_run(stack, Path(tmp) / f"incident-{n}", None))
            stalled.append(incident_run(stack, Path(tmp) / f"hanging-{n}", hanging))
            settled.append(incident_run(stack, Path(tmp) / f"settled-{n}", None, settled=True))
            print(
                f"  run {n + 1}: deploy paint {deploy[-1]:.3f} s; incident paint "
                f"{incident[-1][0]:.3f} s, R {1000 * incident[-1][1]:.1f} ms; with a hanging "
                f"history paint {stalled[-1][0]:.3f} s, R {1000 * stalled[-1][1]:.1f} ms;"
                f" settled R {1000 * settled[-1][1]:.1f} ms",
                flush=True,
            )
    paint_deploy = median(deploy)
    paint_incident = median([p for p, _ in incident])
    r_incident = median([r for _, r in incident])
    paint_hanging = median([p for p, _ in stalled])
    r_hanging = median([r for _, r in stalled])
    r_first_worst = max(r for _, r in incident)
    r_settled = median([r for _, r in settled])
    rows = [
        Row(
            "incident: first paint",
            f"{paint_incident:.3f} s",
            "≤ 1.25x deploy",
            verdict(paint_incident / paint_deploy, 1.25),
            peer=f"deploy (cockpit run) {paint_deploy:.3f} s",
            ratio=ratio(paint_incident, paint_deploy),
        ),
        Row(
            "incident: R on the first frame → rollback child, worst",
            f"{1000 * r_first_worst:.1f} ms",
            "≤ 30 ms",
            verdict(r_first_worst, 0.030),
            f"median {1000 * r_incident:.1f} ms; pressed the moment the frame shows, the"
            " start-up's busiest moment: judged as under load",
        ),
        Row(
            "incident: R once settled → rollback child, median",
            f"{1000 * r_settled:.1f} ms",
            "≤ 10 ms",
            verdict(r_settled, 0.010),
            f"R pressed {SETTLE:.0f} s after the first frame",
            peer=f"on the first frame {1000 * r_incident:.1f} ms",
            ratio=ratio(r_settled, r_incident),
        ),
        Row(
            "history hanging: first paint",
            f"{paint_hanging:.3f} s",
            "≤ 1.25x incident",
            verdict(paint_hanging / paint_incident, 1.25),
            "the history query never answers (its deadline is 10 s)",
            peer=f"incident {paint_incident:.3f} s",
            ratio=ratio(paint_hanging, paint_incident),
        ),
        Row(
            "history hanging: R on the first frame → rollback child, median",
            f"{1000 * r_hanging:.1f} ms",
            "≤ 1.25x incident",
            verdict(r_hanging / r_incident, 1.25),
            "the hanging query must not slow R",
            peer=f"incident {1000 * r_incident:.1f} ms",
            ratio=ratio(r_hanging, r_incident),
        ),
    ]
    print_table(
        f"incident first paint and R, medians of {args.runs} runs, 120x40", rows, area="rollback"
    )


if __name__ == "__main__":
    main()
