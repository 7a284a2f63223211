"""A long session: the live cockpit's memory and GC pauses, and the readers, as it grows.

Generates journals of a session with N metrics (default 16) sampled at 1 Hz, with the real
writer: the real ``Session`` (engine, ``Recorder``, ``Batcher``, ``Journal``, one write and
one fsync per record) on a fake clock, a fake process starter for the one step, and samples
fed as the probes feed them. The session goes GO, runs its step, passes its stop point and
then sits in a 25-hour health window, every sample judged: a war room that keeps the
cockpit open. Copies of the journal are taken at 10 minutes, 2 hours and 24 hours.

Printed at each size:

* the live session (the process that generates): resident memory (VmRSS), the longest
  automatic garbage-collection pause since the last size, and a full collection
  (``gc.collect()``) timed now;
* each reader in a fresh process: seconds and peak memory above the interpreter's
  baseline (VmHWM): ``verify`` (``verify_journal``), ``report`` (``write_evidence``), ``watch``
  (``WatchedSession.watch``: the state of its first frame), ``resume`` (``Session.resume`` on
  a copy: the state of its first frame), ``replay`` (``ReplaySession.open``: read, stand at
  the first record), ``sessions`` (``list_sessions`` of a directory
  holding that journal); and the size of ``health-log.csv``.

Each reader's seconds are also printed as a curve by session length (growth per doubling); a
reader that looks super-linear is measured again at both sizes first (``_confirm``).

The journals are cached (``--cache``, default ``$TMPDIR/cockpit-journal-long``): a re-run
only measures; ``--generate`` makes them again (and measures the live session again, which is
a property of the code, not of the journal). Generating 24 hours takes minutes (an fsync per
second of session; ``--cache /dev/shm/...`` makes the fsyncs free). ``--baseline SRC`` measures
another tree (``git worktree add /tmp/base <commit>``, then ``/tmp/base/src``) in the same run:
its live session, and its readers on the same journals, interleaved with this tree's.

    .venv/bin/python benchmarks/journal_long.py [--sizes 10m,2h,24h] [--metrics 16]
        [--cache DIR] [--generate] [--only verify,report,watch,resume,sessions]
        [--baseline SRC]

Nothing is asserted: figures drift up to 2x on a shared machine; compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w

from cockpit.durations import parse_duration

WALL = 1_800_000_000.0
READERS = ("verify", "report", "watch", "resume", "replay", "sessions")
OPEN_TARGET = 10.0
"""Opening a journal (``--resume``, ``watch``, ``replay``): in seconds, not minutes."""
GC_TARGET_MS = 50.0
"""The longest automatic collection of the live session: the UI never stalls longer."""
JOURNAL = "20270115T080000Z-long-web-0000.jsonl"
"""The journal's name in each size's directory (``cockpit sessions`` lists ``*.jsonl``)."""


# ---------------------------------------------------------------- figures


def status_kb(field: str) -> int:
    """A ``/proc/self/status`` figure in kB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def profile_data(metrics: int) -> dict[str, Any]:
    """A profile with ``metrics`` metrics at 1 Hz and a 25-hour health window."""
    ids = [f"m-{n:03d}" for n in range(metrics)]
    return {
        "version": 1,
        "deployment": {
            "name": "long-web v2",
            "service": "long-web",
            "environments": ["production"],
            "owner": "team-bench",
            "artifact": {"name": "long-web", "tag": "v2"},
        },
        "briefing": {
            "aim": "Ship long-web v2 and watch it for a day.",
            "intent": "One step, then a long health window with every metric judged.",
            "mishaps": ["v2 raises the error rate", "v2 slows every request"],
            "contingency": {
                "triggers": ["error rate at or above 50%"],
                "trigger_time": "5m",
                "alternate": "Restart long-web on v1 by hand.",
            },
        },
        "roles": {"operator": "ada", "monitor": "grace", "two_person_rule": True},
        "checks": [
            {
                "id": "rollback-dry-run",
                "title": "Rollback path validated (dry run)",
                "purpose": "rollback",
                "source": {"kind": "command", "command": ["true"]},
            }
        ],
        "metrics": [
            {
                "id": metric_id,
                "title": f"Error rate, replica {metric_id}",
                "unit": "%",
                "threshold": {"below": 50},
                "interval": "1s",
                "staleness": "5s",
                "pass_count": 3,
                "source": {
                    "kind": "http",
                    "url": "http://127.0.0.1:9/stats",
                    "json_path": "window.error_rate_pct",
                },
            }
            for metric_id in ids
        ],
        "stages": [
            {
                "name": "production",
                "environment": "production",
                "steps": [
                    {
                        "id": "deploy",
                        "title": "Switch long-web to v2",
                        "command": ["true"],
                        "timeout": "1m",
                        "stop_point": ids,
                    }
                ],
            }
        ],
        "rollback": {
            "commands": [["true"]],
            "timeout": "30s",
            "on_failed_stop_point": "prompt",
            "on_trigger_time": "automatic",
            "verify": {"metrics": ids[:2], "tolerance_pct": 50, "within": "45s"},
        },
        "health": {"duration": "25h"},
    }


# ---------------------------------------------------------------- generating (a child process)


class _Handle:
    """A step process that never runs: it ends when the generator says so."""

    def __init__(self, pid: int) -> None:
        from cockpit.runner import ProcessResult

        self.pid = self.pgid = pid
        self.supervisor_pid = pid - 1
        self.started_wall = WALL
        self.result: asyncio.Future[ProcessResult] = asyncio.get_running_loop().create_future()

    async def wait(self, *, terminate_on_cancel: bool = True) -> Any:
        return await self.result


class _GcPauses:
    """The longest automatic collection since the last look (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.full = 0
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        self.longest = max(self.longest, time.perf_counter() - self._start)
        self.full += info["generation"] == 2

    def take(self) -> tuple[float, int]:
        longest, full = self.longest, self.full
        self.longest, self.full = 0.0, 0
        return longest, full


class LongSession:
    """A real session (real ``Session``, ``Journal`` and ``Batcher``) on a fake clock, in its
    health window with ``metrics`` metrics judged; :meth:`one_second` feeds a second of
    samples as the probes and the clock loop do. Use :meth:`start` inside an event loop."""

    def __init__(self, work: Path, metrics: int) -> None:
        from cockpit.clock import FakeClock

        self.work = work
        self.metrics = metrics
        self.clock = FakeClock(WALL)
        self.second = 0
        self._handles: list[_Handle] = []

    async def start(self) -> Any:
        """Create the session and take it to its health window; returns the session."""
        from cockpit.engine import SYSTEM
        from cockpit.engine import intents as i
        from cockpit.runner import ProcessResult
        from cockpit.sample import Sample, Status
        from cockpit.session import Session

        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(mode=0o700, parents=True)
        profile = self.work / "long.toml"
        profile.write_text(tomli_w.dumps(profile_data(self.metrics)))
        clock = self.clock
        self.session = session = Session.create(
            profile,
            sessions_dir=self.work / "sessions",
            environ={},
            clock=clock,
            starter=self._start_process,
        )
        self.ids = [m.id for m in session.profile.metrics]
        op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
        session.submit(i.ConfirmReadback(mon, clock.wall(), typed="5m"))  # the trigger time
        check = Sample("rollback-dry-run", Status.PASS, None, "", clock.wall(), "exit 0 in 0.1s")
        session.submit(i.RecordCheck(SYSTEM, clock.wall(), check))
        for _ in range(3):
            self.one_second()
        await session.act(i.Go(op, clock.wall()))
        await session.act(i.Go(mon, clock.wall()))
        await session.act(i.VerifyStep(mon, clock.wall(), "deploy"))
        await session.act(i.RunStep(op, clock.wall(), "deploy"))
        self._handles[0].result.set_result(ProcessResult(0, None, False, 2.0, None))
        for _ in range(20):
            await asyncio.sleep(0)
        assert session.state.window is not None, session.state.phase
        while session.state.window.kind != "health":  # the stop point passes once GREEN
            self.one_second()
        return session

    async def _start_process(self, spec: Any, *, standby: Any = None) -> _Handle:
        spec.output_path.write_text("deployed\n")
        self._handles.append(_Handle(48213 + 2 * len(self._handles)))
        return self._handles[-1]

    def one_second(self) -> None:
        """A second of samples of every metric (all PASS), a tick, a flush."""
        from cockpit.sample import Sample, Status

        self.second += 1
        self.clock.advance(1.0)
        now = self.clock.wall()
        session = self.session
        for n, metric_id in enumerate(self.ids):
            value = 0.2 + 0.01 * ((self.second + 3 * n) % 17)
            session.on_sample(Sample(metric_id, Status.PASS, value, "%", now, f"{value:g} %"))
        session.tick()
        session.flush()


async def _generate(
    cache: Path, metrics: int, sizes: list[tuple[str, float]], *, label: str
) -> None:
    from cockpit.engine import Phase

    work = cache / f"work-{label}"
    long = LongSession(work, metrics)
    session = await long.start()
    # As the cockpit does at its first frame (cockpit.startup): what start-up made is frozen.
    gc.collect()
    gc.freeze()
    pauses = _GcPauses()
    started = time.perf_counter()
    for name, seconds in sizes:
        while long.second < seconds:
            long.one_second()
        assert session.state.phase is Phase.HEALTH, session.state.phase
        longest, full = pauses.take()
        collect_start = time.perf_counter()
        gc.collect()
        collect = time.perf_counter() - collect_start
        target = cache / name
        target.mkdir(mode=0o700, exist_ok=True)
        if label == "this-tree":  # the journals the readers read: this tree's writer's
            source = session.journal_path
            for suffix in ("", ".anchors"):
                shutil.copyfile(source.with_name(source.name + suffix), target / (JOURNAL + suffix))
        live = {
            "rss_mb": status_kb("VmRSS") / 1024,
            "longest_gc_ms": longest * 1e3,
            "full_collections": full,
            "gc_collect_ms": collect * 1e3,
            "generated_s": time.perf_counter() - started,
        }
        (target / f"live-{label}.json").write_text(json.dumps(live))
        print(json.dumps({"size": name, **live}), flush=True)
    await session.close()
    shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- reading (a child process)


def _measure(reader: str, journal: Path) -> dict[str, Any]:
    from cockpit.evidence import write_evidence
    from cockpit.session import Session
    from cockpit.session_list import list_sessions
    from cockpit.watch import WatchedSession

    scratch = Path(tempfile.mkdtemp(prefix="journal-long-"))
    try:
        target = journal
        if reader == "resume":  # resuming appends a record: never to the cached journal
            sessions = scratch / "sessions"
            sessions.mkdir(mode=0o700)
            target = sessions / journal.name
            for suffix in ("", ".anchors"):
                shutil.copyfile(
                    journal.with_name(journal.name + suffix),
                    target.with_name(target.name + suffix),
                )
        # As the commands run: what the imports made is frozen (cockpit.startup); `run
        # --resume`, `watch` and `replay` open the journal with the collector paused until the
        # first frame, `verify`, `report` and `sessions` with it on.
        gc.collect()
        gc.freeze()
        if reader in ("watch", "resume", "replay"):
            gc.disable()
        base = status_kb("VmRSS")
        extra: dict[str, Any] = {}
        start = time.perf_counter()
        if reader == "verify":
            from cockpit.journal import verify_journal

            report = verify_journal(target)
            assert report.ok, report
        elif reader == "report":
            out = scratch / "evidence"
            write_evidence(target, out)
            extra["health_log_mb"] = (out / "health-log.csv").stat().st_size / 1e6
        elif reader == "watch":
            watched = WatchedSession.watch(target)
            assert watched.state.profile is not None
        elif reader == "resume":
            session = Session.resume(target, environ={})
            assert session.state.profile is not None
        elif reader == "replay":
            from cockpit.replay import ReplaySession

            replayed = ReplaySession.open(target)
            assert replayed.state.profile is not None
        elif reader == "sessions":
            [entry] = list_sessions(target.parent)
            assert not entry.problem, entry
        seconds = time.perf_counter() - start
        if reader == "resume":
            session.processes.close()
            session.journal.close()
        return {"seconds": seconds, "peak_mb": (status_kb("VmHWM") - base) / 1024, **extra}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _child(args: list[str], src: Path | None = None) -> list[dict[str, Any]]:
    env = dict(os.environ)
    if src is not None:  # the baseline's source tree first on the path
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


# ---------------------------------------------------------------- main


def _sizes(text: str) -> list[tuple[str, float]]:
    return sorted(((s, parse_duration(s)) for s in text.split(",")), key=lambda x: x[1])


def _slug(label: str) -> str:
    return label.replace(" ", "-")


def _live(figures: dict[str, Any]) -> str:
    return (
        f"RSS {figures['rss_mb']:5.0f} MB, longest automatic GC pause "
        f"{figures['longest_gc_ms']:7.1f} ms ({figures['full_collections']} full), "
        f"gc.collect() {figures['gc_collect_ms']:7.1f} ms"
    )


def _reader(figures: dict[str, Any]) -> str:
    text = f"{figures['seconds']:7.2f} s, peak +{figures['peak_mb']:5.0f} MB"
    if "health_log_mb" in figures:
        text += f", health-log.csv {figures['health_log_mb']:5.1f} MB"
    return text


def main() -> None:
    """Generate (or reuse) the journals, then measure each reader at each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10m,2h,24h")
    parser.add_argument("--metrics", type=int, default=16)
    parser.add_argument("--cache", type=Path, help="where the journals are kept")
    parser.add_argument("--generate", action="store_true", help="generate them again")
    parser.add_argument("--only", default=",".join(READERS), help="readers to measure")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="the src/ of another tree (a worktree of an older commit): measured in the same "
        "run on the same journals, beside this one",
    )
    parser.add_argument("--child-generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-label", default="this-tree", help=argparse.SUPPRESS)
    parser.add_argument("--child-measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = _sizes(args.sizes)
    default = Path(tempfile.gettempdir()) / "cockpit-journal-long"
    cache: Path = (args.cache or default) / f"{args.metrics}-metrics"
    if args.child_generate:
        asyncio.run(_generate(cache, args.metrics, sizes, label=args.child_label))
        return
    if args.child_measure:
        reader, journal = args.child_measure
        print(json.dumps(_measure(reader, Path(journal))))
        return

    cache.mkdir(mode=0o700, parents=True, exist_ok=True)
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.baseline is not None:
        trees.append(("baseline", args.baseline.resolve()))
    common = ["--sizes", args.sizes, "--metrics", str(args.metrics)]
    common += ["--cache", str(args.cache or default)]
    for label, src in trees:  # this tree first: its writer's journals are the ones read
        missing = [n for n, _ in sizes if not (cache / n / f"live-{_slug(label)}.json").exists()]
        if args.generate or missing:
            print(f"generating {args.sizes} ({args.metrics} metrics at 1 Hz), {label} ...")
            _child(["--child-generate", "--child-label", _slug(label), *common], src)
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load "
          f"{os.getloadavg()[0]:.2f}; {args.metrics} metrics at 1 Hz; cache {cache}")  # fmt: skip
    readers = [r for r in args.only.split(",") if r]
    lives: dict[str, dict[str, Any]] = {}
    read: dict[tuple[str, str], dict[str, Any]] = {}
    for name, _ in sizes:
        journal = cache / name / JOURNAL
        size_mb = journal.stat().st_size / 1e6
        records = sum(1 for _ in journal.open("rb"))
        print(f"\n== {name}: {records} records, {size_mb:.1f} MB")
        for label, src in trees:
            live = json.loads((cache / name / f"live-{_slug(label)}.json").read_text())
            print(f"   live session, {label:9s}: {_live(live)}")
            if src is None:
                lives[name] = live
        for reader in readers:
            # Interleaved: each tree reads the same file right after the other.
            for label, src in trees:
                [figures] = _child(["--child-measure", reader, str(journal)], src)
                print(f"   {reader:9s} {label:9s} {_reader(figures)}")
                if src is None:
                    read[(reader, name)] = figures
    _confirm(cache, sizes, readers, read)
    _emit(sizes, readers, lives, read, args.metrics)


def _confirm(
    cache: Path,
    sizes: list[tuple[str, float]],
    readers: list[str],
    read: dict[tuple[str, str], dict[str, Any]],
    tries: int = 2,
) -> None:
    """A reader that looks super-linear between two sizes is measured again at both, in turn,
    up to ``tries`` times; the quicker figure of each size stands (one slow run on a shared
    machine is not a curve)."""
    from emit import SUPER_LINEAR, growth_per_doubling

    for reader in readers:
        for _ in range(tries):
            points = [(seconds, read[(reader, name)]["seconds"]) for name, seconds in sizes]
            growth = growth_per_doubling(points)
            flagged = [i for i, g in enumerate(growth) if g > SUPER_LINEAR]
            if not flagged:
                break
            again = {sizes[i][0] for i in flagged} | {sizes[i + 1][0] for i in flagged}
            print(f"   {reader}: grows faster than linear; measuring {sorted(again)} again")
            for name in sorted(again, key=lambda n: dict(sizes)[n]):
                [figures] = _child(["--child-measure", reader, str(cache / name / JOURNAL)])
                print(f"   {reader:9s} again     {_reader(figures)}")
                if figures["seconds"] < read[(reader, name)]["seconds"]:
                    read[(reader, name)] = figures


def _emit(
    sizes: list[tuple[str, float]],
    readers: list[str],
    lives: dict[str, dict[str, Any]],
    read: dict[tuple[str, str], dict[str, Any]],
    metrics: int,
) -> None:
    """The figures as tables and curves (``emit.py``: printed, and recorded for report.py)."""
    from emit import Row, print_curve, print_table, verdict

    rows = []
    for name, _ in sizes:
        live = lives[name]
        rows.append(
            Row(
                f"live session at {name}: longest automatic GC pause",
                f"{live['longest_gc_ms']:.1f} ms",
                f"≤ {GC_TARGET_MS:.0f} ms",
                verdict(live["longest_gc_ms"], GC_TARGET_MS),
                f"RSS {live['rss_mb']:.0f} MB; gc.collect() {live['gc_collect_ms']:.1f} ms",
            )
        )
        for reader in readers:
            figures = read[(reader, name)]
            opens = reader in ("watch", "resume", "replay")
            rows.append(
                Row(
                    f"{reader} on {name}",
                    f"{figures['seconds']:.2f} s",
                    f"≤ {OPEN_TARGET:.0f} s" if opens else "(context)",
                    verdict(figures["seconds"], OPEN_TARGET) if opens else "info",
                    f"peak +{figures['peak_mb']:.0f} MB"
                    + (
                        f", health-log.csv {figures['health_log_mb']:.1f} MB"
                        if "health_log_mb" in figures
                        else ""
                    ),
                )
            )
    print_table(
        f"a long session: {metrics} metrics at 1 Hz, journals written by the real writer",
        rows,
        area="journal",
    )
    labels = [name for name, _ in sizes]
    note = f"{metrics} metrics at 1 Hz; each reader in a fresh process"
    print_curve(
        "live session resident memory by session length",
        "session",
        "MB",
        [(seconds, lives[name]["rss_mb"]) for name, seconds in sizes],
        labels=labels,
        area="journal",
        note=note,
    )
    for reader in readers:
        print_curve(
            f"{reader}: seconds by session length",
            "session",
            "s",
            [(seconds, read[(reader, name)]["seconds"]) for name, seconds in sizes],
            labels=labels,
            area="journal",
            note=note,
        )


if __name__ == "__main__":
    main()
