"""Run every benchmark and write BENCHMARKS.md: each figure beside its peer in the same run.

``make bench`` runs this. Each benchmark runs as its own process, in a fixed order, one after
another (the load average is printed before and after each: the machine may be shared). A
benchmark records its tables through ``emit.py`` into the file ``COCKPIT_BENCH_JSON`` names;
one that records nothing has its printed output included as it is. Any other
``benchmarks/*.py`` is run too (after the known ones, without arguments). BENCHMARKS.md
holds the machine, the versions, the date, one section per area (measured | peer in the same
run | ratio | target | verdict), the curves with their growth per doubling, and for each miss
the measured reason and what it would take.

    .venv/bin/python benchmarks/report.py [--quick] [--only a,b] [--out BENCHMARKS.md]

``--quick`` (or ``BENCH_QUICK=1``): a run or two of each, short windows, small journals: the
figures are not worth reading, the report's shape is (the test suite uses it).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOT_BENCHMARKS = {"ui_common", "emit", "report"}
JOURNAL_CACHE = Path("/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())


class BadArgument(Exception):
    """An argument names nothing there is."""


@dataclasses.dataclass(frozen=True)
class Bench:
    """A benchmark script and its arguments, in a full run and in a quick one."""

    name: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    timeout: float = 600.0


def journal_cache() -> Path:
    """Where journal_long.py keeps its journals: one directory per version of ``src/``, so a
    re-run on the same tree reuses them and a changed writer makes new ones."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD:src"],
        capture_output=True,
        text=True,
        check=False,
    )
    key = done.stdout.strip() or "unknown"
    return JOURNAL_CACHE / f"cockpit-bench-journals-{key}"


# The fixed order: the UI first (it needs the quietest machine), then the core. About 13
# minutes on 2 cores with the 24-hour journal to generate (4 minutes of it), 9 without.
PLAN = (
    Bench("ui_first_paint", ("--runs", "5"), ("--runs", "1")),
    Bench("cli_start"),
    Bench("ui_idle_cpu", ("--seconds", "15", "--settle", "4"), ("--seconds", "2", "--settle", "1")),
    Bench("ui_rollback_latency", ("--runs", "6"), ("--runs", "1")),
    Bench("incident", ("--runs", "5"), ("--runs", "1")),
    Bench("ui_log_flood", (), ("--lines", "20000")),
    Bench("attach_sync", ("--seconds", "10"), ("--seconds", "3")),
    Bench(
        "ui_scale",
        ("--sizes", "8,16,32,64", "--rounds", "1", "--seconds", "10", "--presses", "3"),
        ("--sizes", "8,16", "--rounds", "1", "--seconds", "2", "--presses", "1"),
    ),
    Bench("journal_append", ("--count", "2000"), ("--count", "200")),
    Bench("journal_long", (), ("--sizes", "1m,2m"), timeout=1200),
    Bench("session_scale", ("--seconds", "120"), ("--sizes", "8,16", "--seconds", "10")),
    Bench("probes_cpu", ("--seconds", "10"), ("--seconds", "2")),
    Bench("runner_spawn", ("100",), ("10",)),
    Bench("demo_service", ("--seconds", "3"), ("--seconds", "1")),
)

AREAS = {
    "start-up": "Start-up: first paint and exit",
    "idle": "Idle CPU and memory",
    "rollback": "R: key to rollback started",
    "flood": "Step output flood",
    "crew": "Terminals of one session",
    "scale": "Cost as the profile grows",
    "journal": "Journals: append, long sessions, open times",
    "probes": "Probe scheduler",
    "": "Other figures",
}

# Why a target is missed and what it would take, by the start of the row's `what`. Written
# from measurements (docs/PERFORMANCE-RESULTS.md and the runs that produced BENCHMARKS.md); a
# miss without an entry says so.
EXPLAINED: dict[str, tuple[str, str]] = {
    "cockpit first paint": (
        "a warm start writes the frame Textual drew on the last starts with the same key"
        " (cockpit.first_frame) before anything heavy is imported; a first start (cold) still"
        " imports the profile models with pydantic (0.19-0.21 s: 29 model classes, most of it"
        " their creation; building their schemas lazily (defer_build) saved 0.01 s, measured;"
        " pydantic's plugin lookup is no longer made), the engine (0.05 s) and Textual"
        " (0.13-0.25 s), and runs App.run (0.06-0.08 s: styling, composing and laying out 52"
        " widgets; a second styling pass of every widget before the first frame was removed,"
        " 0.545/0.560 s before, 0.524/0.536 s after, side by side) before its first frame;"
        " glances, htop and btop import nothing comparable",
        "for the cold start: a first frame drawn without Textual from the parsed profile. Not"
        " built: the briefing's frame is drawn from the engine's state (the checklist, the"
        " Monitor's task, what comes next and whose key it is), so a second renderer would be"
        " a second copy of that logic, and a difference between the two would show a wrong"
        " cockpit for half a second; or profile models without pydantic on the path to the"
        " first frame (validated right after it)",
    ),
    "cockpit / glances idle CPU": (
        "each second the compositor redraws the clock and the metric rows that changed (3-4 ms"
        " of Textual), the tick builds their text (~1 ms), the probes and the engine ~1.6 ms;"
        " glances refreshes at 1 s too but draws less per refresh when its numbers are steady",
        "redrawing only the characters that change (a lower-level region update than Textual's"
        " widget refresh), or ticking the clock region alone at 1 Hz and the metrics at their"
        " own interval",
    ),
    "cockpit idle CPU, process alone": (
        "profiled with py-spy over 30 s of the idle briefing: Textual's drawing is about 45 %"
        " of what is left; each second the clock at the top and the metric rows change, and"
        " Textual redraws the widgets between them (py-spy at 1 kHz over 60 s: the"
        " compositor 34 %, the 1 s tick 14 %, the HTTP check 13 %, the journal's flush 6 %,"
        " the probes 6 %); the figure sits at the target and moves between runs more than"
        " any change measured against it: the same code gave 1.02, 1.07 and 1.22 % in 45 s"
        " windows within 15 minutes on a quiet machine (glances 2.8-3.4 % beside it, the"
        " ratio 0.36x each time), so compare the ratio to glances in the same run",
        "redrawing only the cells that change (the clock's digits, a row's value) below"
        " Textual's widget refresh, or ticking the metric rows at their own interval",
    ),
    "R → rollback started": (
        "traced per stage on a quiet run: tmux to the cockpit's input thread 2.2-2.8 ms (the"
        " floor has the same), to the key's action 0.5 ms, the engine's decision and the"
        " journal's write-ahead record with its fsync 0.8-1.1 ms, the job to the standby"
        " supervisor 0.5 ms, its posix_spawn 0.5 ms, then the child's own start (sh, then"
        " date) about 2 ms; on a loaded machine each stage waits for a core",
        "a machine with a core to spare; the cockpit's own part is about 2 ms of it",
    ),
    "incident: R on the first frame": (
        "R is pressed by the harness the moment the incident's first frame shows (a person"
        " reacts in 0.2 s or more): traced with faulthandler dumps, R then waits for Textual's"
        " first layout and drawing after that frame; three causes of the wait were fixed"
        " (a thread started on the event loop, a pane drawn twice, the rollback's supervisor"
        " still starting: CHANGELOG)",
        "handling R ahead of Textual's first layout (on the input thread, with the journal's"
        " write-ahead record made safe from two threads), and a core to spare",
    ),
    "incident: R once settled": (
        "the same stages as R in a deploy (about 2 ms of them the cockpit's own, the rest tmux,"
        " the spawn and the child's start); 3 presses a run, so the median moves by a few ms"
        " between runs",
        "the same as for R in a deploy; 5 runs a bench for a steadier median",
    ),
    "history hanging: R on the first frame": (
        "as for the incident's R: pressed on the first frame, behind the start-up work; the"
        " hanging history query itself has a deadline and does not block the loop",
        "the same as for the incident's R",
    ),
    "200000 lines": (
        "the output goes file → the cockpit's reader → Textual's Log → tmux; the raw floor"
        " (the same program straight into tmux) is in the note of the same row and grows with"
        " the load as much",
        "on a quiet machine this met the target (1.03 s against a 0.92 s floor,"
        " docs/PERFORMANCE-RESULTS.md); re-run when the load is below 1",
    ),
    "key h → dialog": (
        "the dialog is a modal screen mounted by Textual; under load the idle median grows"
        " as well, and the verdict compares the worst press during the flood with it",
        "re-run on a quiet machine; a persistent stall would need the output pane's batch"
        " made smaller per frame",
    ),
    "cockpit resident memory after the flood": (
        "profiled with tracemalloc and smaps: the flood itself adds 0.8-0.9 MB (it added"
        " 2.3-2.8 MB: a thread per batch whose lines rich's width cache kept; freed memory is"
        " given back with malloc_trim); what remains over the idle cockpit is driving it to"
        " the step (2.4 MB of Python's small-object arenas, which cannot be given back). No"
        " longer loaded, side by side in the same runs 61.1-61.4 MB before and 58.9-59.2 MB"
        " after: httpx while every probe takes the plain-HTTP path (1.5-1.7 MB) and pydantic's"
        " plugin lookup (importlib.metadata, csv, zipfile: 0.8-1.0 MB)",
        "fewer long-lived objects made on the way to the step (the arenas; not profiled further)",
    ),
    "T+ turns over": (
        "each terminal redraws its own clock from its own timer; the panes are read with"
        " capture-pane in turn, so one reading round (printed by attach_sync.py) is the"
        " resolution, and it grows with the load",
        "a shared tick broadcast by the session to the joined terminals",
    ),
    "resume: seconds by session length": (
        "a 24-hour journal is 12 times a 2-hour one; resuming reads, verifies and folds every"
        " record (profiled at 2 h: half the time folding samples, a third parsing JSON; no"
        " step grows with the journal), so a factor above 2 per doubling is most likely the"
        " load on the machine while the day was read",
        "a re-run on a quiet machine to confirm; a checkpoint of the folded state would make it"
        " flat",
    ),
    "watch: seconds by session length": (
        "the same read as resume (every record verified and folded)",
        "the same as for resume",
    ),
    "replay: seconds by session length": (
        "the same read as resume plus every record kept: 1.1 GB at 24 hours, so the"
        " machine's memory and cache make the day slower per record than two hours",
        "an index of record offsets instead of the records",
    ),
    "resume on 24h": (
        "the 24-hour journal is 196 MB, 86,000 records; resuming reads and verifies every"
        " record and folds it into the state: linear in the journal (its growth per doubling"
        " is about 2), so a day takes about 12 times two hours",
        "a checkpoint of the folded state in the journal (every hour, say), so resuming"
        " verifies the chain but folds only from the last checkpoint",
    ),
    "watch on 24h": (
        "the same read as resume: every record verified and folded before the first frame",
        "the same checkpoint as for resume",
    ),
    "replay on 24h": (
        "replay reads, verifies and folds every record like resume, and also keeps every"
        " record to move back and forth in time (1.1 GB at 24 hours, the peak in the note);"
        " with the collector on while it read, 14 full collections freed nothing and cost a"
        " third of the time: `cockpit replay` now reads with it paused, as `run --resume` does",
        "an index of record offsets instead of the records, read on demand; and the"
        " checkpoint of the folded state that resume needs too",
    ),
}


# ---------------------------------------------------------------- running


@dataclasses.dataclass
class Result:
    """What one benchmark run produced."""

    bench: Bench
    args: list[str]
    seconds: float
    load_before: float
    load_after: float
    returncode: int | None
    tables: list[dict[str, Any]]
    output: str
    error: str


def run_one(bench: Bench, quick: bool) -> Result:
    args = list(bench.quick if quick else bench.full)
    if bench.name == "journal_long":
        cache = journal_cache()
        for old in JOURNAL_CACHE.glob("cockpit-bench-journals-*"):  # another tree's: 0.2 GB
            if old.name not in (cache.name, cache.name + "-quick"):
                shutil.rmtree(old, ignore_errors=True)
        args += ["--cache", str(cache.with_name(cache.name + "-quick") if quick else cache)]
    script = HERE / f"{bench.name}.py"
    load_before = os.getloadavg()[0]
    print(f"== {bench.name} {' '.join(args)}  (load before {load_before:.2f})", flush=True)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as f:
        json_path = Path(f.name)
    env = {**os.environ, "COCKPIT_BENCH_JSON": str(json_path)}
    started = time.monotonic()
    lines: list[str] = []
    returncode: int | None
    process = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert process.stdout is not None
    try:
        deadline = started + bench.timeout
        for line in process.stdout:
            print("   " + line, end="", flush=True)
            lines.append(line)
            if time.monotonic() > deadline:
                break
        if time.monotonic() > deadline:
            process.kill()
        returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        returncode = None
    seconds = time.monotonic() - started
    load_after = os.getloadavg()[0]
    tables = [json.loads(line) for line in json_path.read_text().splitlines() if line.strip()]
    json_path.unlink()
    status = "timed out" if returncode is None else f"exit {returncode}"
    print(f"   ({status}, {seconds:.0f} s, load after {load_after:.2f})", flush=True)
    output = "".join(lines)
    error = "" if returncode == 0 else "\n".join(output.strip().splitlines()[-5:])
    return Result(bench, args, seconds, load_before, load_after, returncode, tables, output, error)


def plan(only: list[str] | None, quick: bool) -> list[Bench]:
    """The known benchmarks in their order, then any other script in benchmarks/."""
    known = {b.name for b in PLAN}
    others = sorted(
        p.stem
        for p in HERE.glob("*.py")
        if p.stem not in known and p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")
    )
    benches = [b for b in PLAN if (HERE / f"{b.name}.py").exists()]
    benches += [Bench(name) for name in others]
    if only is not None:
        unknown = [n for n in only if n not in {b.name for b in benches}]
        if unknown:
            raise BadArgument(f"--only: no benchmark named {', '.join(unknown)}")
        benches = [b for b in benches if b.name in only]
    elif quick:
        benches = [b for b in benches if b.name in known]  # unknown ones have no quick mode
    return benches


# ---------------------------------------------------------------- the machine


def _command(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""
    )


def machine() -> list[tuple[str, str]]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GB of memory"
    commit = _command("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
    dirty = _command("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no")
    return [
        ("machine", f"{os.cpu_count()} cores, {cpu or 'unknown CPU'}{memory}"),
        ("system", f"{platform.system()} {platform.release()}"),
        ("commit", commit + (" with local changes" if dirty else "")),
    ]


def versions() -> tuple[list[tuple[str, str]], list[str]]:
    """The versions that matter, and a line for each missing peer saying how to install it."""
    sys.path.insert(0, str(HERE))
    from importlib import metadata

    from ui_common import PEER_INSTALL, glances

    rows = [("Python", platform.python_version())]
    for package in ("textual", "rich", "pydantic", "httpx"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            rows.append((package, metadata.version(package)))
    rows.append(("tmux", _command("tmux", "-V") or "not installed"))
    missing = []
    exe = glances()
    tools = {
        "glances": [exe, "--version"] if exe else None,
        "htop": [shutil.which("htop") or "", "--version"] if shutil.which("htop") else None,
        "btop": [shutil.which("btop") or "", "--version"] if shutil.which("btop") else None,
    }
    for name, argv in tools.items():
        if argv is None:
            rows.append((name, "not installed: no peer"))
            missing.append(f"{name}: {PEER_INSTALL[name]}")
        else:
            version = " ".join(_command(*argv).split())
            rows.append((name, f"{version} ({argv[0]})"))
    return rows, missing


# ---------------------------------------------------------------- the report


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _verdict(row: dict[str, Any]) -> str:
    verdict = str(row.get("verdict") or "").strip()
    return verdict or "info"


def _is_miss(verdict: str) -> bool:
    return verdict in ("MISS", "SUPER-LINEAR", "FAILED")


def _explain(what: str) -> tuple[str, str]:
    for prefix, explanation in EXPLAINED.items():
        if what.startswith(prefix):
            return explanation
    return (
        "not analysed yet: this miss is new in this run",
        "re-run on a quiet machine (`make bench`); if it still misses, profile it (py-spy)",
    )


def render(results: list[Result], *, quick: bool, started: datetime.datetime) -> str:
    version_rows, missing = versions()
    loads = [r.load_before for r in results] + [r.load_after for r in results]
    out = ["# Benchmarks", ""]
    out.append(
        "Written by `make bench` (`benchmarks/report.py`); do not edit by hand, run it again."
        " Targets: the design notes' PERFORMANCE.md and issue 11. Each figure stands beside its"
        " peer measured in the same run (glances, htop and btop, the raw floor): figures on a"
        " shared machine drift up to 2x over a day, the ratios much less."
    )
    if quick:
        out += ["", "**Quick mode** (`--quick`): one run each, short windows; shape only."]
    out += ["", "## Machine and versions", "", "| | |", "| --- | --- |"]
    when = started.strftime("%Y-%m-%d %H:%M UTC")
    out.append(f"| date | {when}, {sum(r.seconds for r in results) / 60:.1f} minutes |")
    for key, value in machine():
        out.append(f"| {key} | {_cell(value)} |")
    if loads:
        out.append(
            f"| load average (1 min) | {min(loads):.2f} to {max(loads):.2f} during the run;"
            " each benchmark's below |"
        )
    for key, value in version_rows:
        out.append(f"| {key} | {_cell(value)} |")
    if missing:
        out += ["", "Missing peers (their comparisons are left out):", ""]
        out += [f"- {line}" for line in missing]

    # Every row, by area, and the misses.
    by_area: dict[str, list[tuple[Result, dict[str, Any]]]] = {}
    for result in results:
        for table in result.tables:
            by_area.setdefault(str(table.get("area") or ""), []).append((result, table))
    misses: list[tuple[Result, str, str, str | dict[str, Any]]] = []
    judged = met = 0
    for result in results:
        if result.returncode != 0:
            status = "timed out" if result.returncode is None else f"exit {result.returncode}"
            misses.append((result, f"{result.bench.name}.py failed ({status})", "", result.error))
        for table in result.tables:
            rows = table.get("rows") or []
            if table.get("kind") == "curve":
                names = [p[0] for p in table.get("points", [])]
                rows = [
                    {"what": f"{table['title']}, at {name}", "verdict": _curve_verdict(g)}
                    for name, g in zip(names[1:], table.get("growth", []), strict=False)
                ]
            for row in rows:
                verdict = _verdict(row)
                if verdict in ("OK", "MISS", "SUPER-LINEAR"):
                    judged += 1
                    met += verdict == "OK"
                if _is_miss(verdict):
                    misses.append((result, row["what"], row.get("measured", ""), row))

    out += ["", "## Summary", ""]
    failed = sum(1 for r in results if r.returncode != 0)
    out.append(
        f"{judged} figures judged against a target: {met} met, {judged - met} missed"
        + (f"; {failed} benchmark(s) failed" if failed else "")
        + ". Misses, their measured reasons and what they would take: [Misses](#misses)."
    )
    order = list(AREAS) + sorted(a for a in by_area if a not in AREAS)
    for area in order:
        if area not in by_area:
            continue
        out += ["", f"## {AREAS.get(area, area)}"]
        for result, table in by_area[area]:
            out += ["", f"### {_cell(table['title'])}", ""]
            out.append(
                f"`{result.bench.name}.py {' '.join(result.args)}`, load {result.load_before:.2f}"
                f" → {result.load_after:.2f}" + (f"; {table['note']}" if table.get("note") else "")
            )
            out.append("")
            if table.get("kind") == "curve":
                out += _curve(table)
            else:
                out += _table(table["rows"])

    verbatim = [r for r in results if not r.tables and r.returncode == 0]
    if verbatim:
        out += ["", "## Printed figures (benchmarks that record no table)", ""]
        for result in verbatim:
            out += [f"### `{result.bench.name}.py {' '.join(result.args)}`", ""]
            out += [
                f"load {result.load_before:.2f} → {result.load_after:.2f}",
                "",
                "```",
                result.output.rstrip(),
                "```",
                "",
            ]

    out += ["", "## Misses", ""]
    if not misses:
        out.append("None: every figure with a target met it in this run.")
    for result, what, measured, row in misses:
        if isinstance(row, str):  # a failed benchmark
            out.append(f"- **{_cell(what)}**: {_cell(row) or 'no output'}.")
            out.append(
                "  What it would take: run it alone (`.venv/bin/python benchmarks/"
                f"{result.bench.name}.py`) and fix what it reports."
            )
            continue
        why, fix = _explain(what)
        target = row.get("target", "")
        peer = f"; peer in the same run: {row['peer']}" if row.get("peer") else ""
        out.append(
            f"- **{_cell(what)}**: measured {_cell(measured or row.get('verdict'))}"
            + (f" against {_cell(target)}" if target else "")
            + f"{_cell(peer)} (`{result.bench.name}.py`, load {result.load_after:.2f})."
        )
        out.append(f"  Why: {why}.")
        out.append(f"  What it would take: {fix}.")

    out += ["", "## Runs", "", "| benchmark | arguments | seconds | load before → after | result |"]
    out.append("| --- | --- | --- | --- | --- |")
    for r in results:
        status = "timed out" if r.returncode is None else f"exit {r.returncode}"
        tables = f"{len(r.tables)} tables" if r.tables else "printed output only"
        out.append(
            f"| `{r.bench.name}.py` | `{' '.join(r.args) or '(none)'}` | {r.seconds:.0f} |"
            f" {r.load_before:.2f} → {r.load_after:.2f} | {status}, {tables} |"
        )
    return "\n".join(out) + "\n"


def _curve_verdict(growth: float | None) -> str:
    from emit import SUPER_LINEAR

    if growth is None:
        return "n/a"
    return "SUPER-LINEAR" if growth > SUPER_LINEAR else "OK"


def _curve(table: dict[str, Any]) -> list[str]:
    lines = [
        f"| {table['size_name']} | measured | growth per doubling | verdict (≤ linear) |",
        "| --- | --- | --- | --- |",
    ]
    growth = [None, *table.get("growth", [])]
    for (name, value), g in zip(table["points"], growth, strict=False):
        shown = f"{value:.3g} {table['unit']}"
        if g is None and name == table["points"][0][0]:
            lines.append(f"| {_cell(name)} | {shown} | | base |")
        else:
            factor = "n/a" if g is None else f"{g:.2f}x"
            lines.append(f"| {_cell(name)} | {shown} | {factor} | {_curve_verdict(g)} |")
    return lines


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| what | measured | peer (same run) | ratio | target | verdict | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        verdict = _verdict(row)
        shown = f"**{verdict}**" if _is_miss(verdict) else verdict
        cells = [row.get(k, "") for k in ("what", "measured", "peer", "ratio", "target")]
        lines.append(
            "| "
            + " | ".join(_cell(c) for c in cells)
            + f" | {shown} | {_cell(row.get('note', ''))} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short run of each")
    parser.add_argument("--only", help="comma-separated benchmark names (script stems)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--results",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cockpit-bench-results.json",
        help="where the run's raw results are kept (default: in the temp dir)",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="run nothing: write the report again from --results (after editing EXPLAINED)",
    )
    args = parser.parse_args()
    if args.render:
        try:
            saved = json.loads(args.results.read_text())
        except (OSError, ValueError) as exc:
            print(f"error: --results {args.results}: {exc}", file=sys.stderr)
            return 2
        results = [
            Result(**{**r, "bench": Bench(**{**r["bench"], "full": (), "quick": ()})})
            for r in saved["results"]
        ]
        started = datetime.datetime.fromisoformat(saved["started"])
        args.out.write_text(render(results, quick=saved["quick"], started=started))
        print(f"wrote {args.out} from {args.results}")
        return 0
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    only = [n for n in args.only.split(",") if n] if args.only else None
    try:
        benches = plan(only, quick)
    except BadArgument as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = datetime.datetime.now(datetime.UTC)
    results = [run_one(bench, quick) for bench in benches]
    raw = {"started": started.isoformat(), "quick": quick}
    raw["results"] = [dataclasses.asdict(r) for r in results]
    args.results.write_text(json.dumps(raw))
    args.out.write_text(render(results, quick=quick, started=started))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
