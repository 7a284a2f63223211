"""``cockpit run`` and ``cockpit demo``: start a session and open the screen."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit import startup
from cockpit.engine import Refusal
from cockpit.inert import inert
from cockpit.journal import JournalError, default_sessions_dir
from cockpit.profile import ProfileError
from cockpit.ui import MIN_HEIGHT, MIN_WIDTH


def _terminal_ok() -> bool:
    if not sys.stdout.isatty():
        print("error: cockpit needs a terminal (run it in a terminal or tmux)", file=sys.stderr)
        return False
    size = shutil.get_terminal_size((0, 0))
    if size.columns and (size.columns < MIN_WIDTH or size.lines < MIN_HEIGHT):
        print(
            f"error: the terminal is {size.columns}x{size.lines}; the cockpit needs at least "
            f"{MIN_WIDTH}x{MIN_HEIGHT}. Enlarge the window and run it again.",
            file=sys.stderr,
        )
        return False
    return True


@dataclass(frozen=True)
class Incident:
    """``cockpit incident``: declared when the session opens."""

    baseline_at: float | None = None


def _open(
    profile: Path | None,
    sessions_dir: str | None,
    resume: str | None = None,
    incident: Incident | None = None,
    *,
    take_over: bool = False,
) -> int:
    startup.pause()  # until the first frame (CockpitApp.on_ready): see cockpit.startup
    try:
        return _open_and_run(profile, sessions_dir, resume, incident, take_over=take_over)
    finally:
        startup.resume()


def _open_and_run(
    profile: Path | None,
    sessions_dir: str | None,
    resume: str | None,
    incident: Incident | None,
    *,
    take_over: bool,
) -> int:
    from cockpit.lock import LockError, LockHeld
    from cockpit.session import Session
    from cockpit.ui.attach import attach_directory, serving

    attach_problem = attach_directory()
    if attach_problem and profile is not None and _names_a_crew(profile):
        # The crew joins through the socket: without it the two-person rule cannot be held.
        _say(f"error: the crew cannot join: {attach_problem}", error=True)
        return 2
    try:
        if resume is not None:
            session = Session.resume(resume, evidence_writer=write_evidence)
        else:
            assert profile is not None
            session = Session.create(
                profile,
                sessions_dir=Path(sessions_dir) if sessions_dir else None,
                evidence_writer=write_evidence,
                take_over=take_over,
                kind="incident" if incident is not None else "deploy",
                baseline_at=incident.baseline_at if incident is not None else None,
            )
    except LockHeld as exc:
        _say(f"error: refused: {exc.message}", error=True)
        return 2
    except LockError as exc:
        _say(f"error: the deploy lock: {exc}", error=True)
        return 2
    except ProfileError as exc:
        for problem in exc.problems:
            _say(f"error: {problem}", error=True)
        return 2
    except Refusal as refusal:
        _say(f"error: {refusal.reason}", error=True)
        return 2
    except (JournalError, OSError) as exc:
        _say(f"error: cannot open the session journal: {exc}", error=True)
        return 2
    from cockpit.ui.app import make_app

    services = []
    if attach_problem:
        _say(f"warning: nobody can join this session: {attach_problem}", error=True)
    else:
        serve, tell = serving(session)
        services.append(serve)
    app = make_app(session, services=services)
    if not attach_problem:
        tell(app)
    try:
        app.run()
    finally:
        import asyncio

        asyncio.run(_close(session))
        report = next((p for p in session.evidence if p.name == "DEPLOYMENT-REPORT.md"), None)
        _say(f"session journal: {session.journal_path}")
        _say(f"verify it with:  cockpit verify {session.journal_path}")
        if report is not None:
            _say(f"report:          {report}")
        elif session.evidence_error:
            _say(session.evidence_error, error=True)
        if session.journal_failed:
            _say_unrecorded(session.journal_failed, session.unrecorded_lines())
    return 1 if session.journal_failed else 0


def write_evidence(journal: Path, out: Path | None = None) -> list[Path]:
    """The session's evidence writer, imported when the session ends (off the first frame's
    path: the report writers cost about 0.02 s of every start, measured with -X importtime)."""
    from cockpit.evidence import write_evidence as write

    return write(journal, out)


def _names_a_crew(profile: Path) -> bool:
    from cockpit.profile import load_profile

    try:
        return load_profile(profile).crew is not None
    except Exception:  # reported by whatever opens it next
        return False


def _say_unrecorded(failure: str, lines: list[str]) -> None:
    """After the journal failed, what happened is only here: say all of it."""
    _say(f"error: JOURNAL FAILED: {failure}", error=True)
    if not lines:
        _say("error: nothing happened after the failure; the journal holds everything", error=True)
        return
    _say("error: NOT IN THE JOURNAL (it happened, but could not be recorded):", error=True)
    for line in lines:
        _say(f"  {line}", error=True)


def _say(text: str, *, error: bool = False) -> None:
    """Print a line, shown inert (it may hold outside text: paths, reasons, step output).

    After the screen closed the terminal may be gone (SIGHUP), and what matters is already on
    disk, so a dead terminal is not an error."""
    with contextlib.suppress(OSError, ValueError):
        print(inert(text), file=sys.stderr if error else sys.stdout, flush=True)


async def _close(session: object) -> None:
    from cockpit.session import Session

    assert isinstance(session, Session)
    if not session.evidence:
        await session.write_evidence()  # also for a session quit before it ended
    session.journal.close()


def _arguments_ok(
    *, profile: str | None = None, journal: str | None = None, sessions_dir: str | None = None
) -> bool:
    """Check the files named on the command line before anything opens (and before the
    terminal check), so that bad input gets its own message; print it and say False."""
    from cockpit.files import FileRefused, check_regular_file, secure_directory
    from cockpit.profile import load_profile, resolve_profile

    try:
        if journal is not None:  # never through a link: the session's files go beside it
            check_regular_file(journal, what="journal file", follow_symlinks=False)
            secure_directory(Path(journal).parent, create=False)
            if os.path.lexists(Path(journal).with_suffix("")):
                secure_directory(Path(journal).with_suffix(""), create=False)
        if sessions_dir is not None:  # made later; its parents must be safe already
            secure_directory(sessions_dir, create=False, missing_ok=True)
        if profile is not None:
            resolve_profile(load_profile(profile), os.environ)
    except FileRefused as exc:
        _say(f"error: {exc}", error=True)
        return False
    except ProfileError as exc:
        for problem in exc.problems:
            _say(f"error: {problem}", error=True)
        return False
    return True


def run_command(args: argparse.Namespace) -> int:
    """Open the cockpit for a profile."""
    if (args.profile is None) == (args.resume is None):
        print("error: give a PROFILE to start a session, or --resume JOURNAL", file=sys.stderr)
        return 2
    sessions_dir = None if args.resume else args.sessions_dir or str(default_sessions_dir())
    if not _arguments_ok(profile=args.profile, journal=args.resume, sessions_dir=sessions_dir):
        return 2
    if not _terminal_ok():
        return 2
    profile = Path(args.profile) if args.profile else None
    return _open(profile, args.sessions_dir, args.resume, take_over=args.take_over)


def incident_command(args: argparse.Namespace) -> int:
    """Declare an incident now and open the cockpit on it: T0 is this moment, R works at once."""
    import time

    from cockpit.durations import DurationError, parse_moment

    baseline_at = None
    if args.baseline_at is not None:
        try:
            baseline_at = parse_moment(args.baseline_at, time.time())
        except DurationError as exc:
            _say(f"error: --baseline-at: {exc}", error=True)
            return 2
    sessions_dir = args.sessions_dir or str(default_sessions_dir())
    if not _arguments_ok(profile=args.profile, sessions_dir=sessions_dir):
        return 2
    if not _terminal_ok():
        return 2
    return _open(
        Path(args.profile),
        args.sessions_dir,
        incident=Incident(baseline_at),
        take_over=args.take_over,
    )


def watch_command(args: argparse.Namespace) -> int:
    """Watch a session from a second terminal: its journal, on the same screen, read-only."""
    from cockpit.session_list import list_sessions
    from cockpit.watch import WatchedSession

    journal = args.journal
    if journal is None:
        directory = Path(args.sessions_dir) if args.sessions_dir else default_sessions_dir()
        try:
            found = list_sessions(directory) if os.path.lexists(directory) else []
            live = [entry for entry in found if entry.open]
        except OSError as exc:  # FileRefused among them: another user's directory
            _say(f"error: {exc}", error=True)
            return 2
        if not live:
            _say(
                f"error: no cockpit has a session open in {directory}; give the JOURNAL to watch"
                " (`cockpit sessions` lists them)",
                error=True,
            )
            return 2
        journal = live[0].journal
    if not _check_journal_to_watch(journal) or not _terminal_ok():
        return 2
    startup.pause()  # the journal is read until the first frame: see cockpit.startup
    try:
        try:
            session = WatchedSession.watch(journal)
        except (JournalError, OSError) as exc:
            _say(f"error: cannot watch {journal}: {exc}", error=True)
            return 2
        from cockpit.ui.app import make_app

        try:
            make_app(session).run()
        finally:
            _say(f"stopped watching {session.journal_path}")
        return 0
    finally:
        startup.resume()


def replay_command(args: argparse.Namespace) -> int:
    """Replay a session's journal on the cockpit's screen, read-only, at any speed."""
    from cockpit.files import FileRefused, check_regular_file
    from cockpit.replay import ReplaySession

    startup.pause()  # the journal is read until the first frame: see cockpit.startup
    try:
        try:
            check_regular_file(args.journal, what="journal file")  # replaying never writes
            session = ReplaySession.open(args.journal, prometheus=args.prometheus)
        except (FileRefused, JournalError, OSError) as exc:
            _say(f"error: cannot replay {exc}", error=True)
            return 2
        if not _terminal_ok():
            return 2
        from cockpit.ui.replay import make_replay_app

        make_replay_app(session).run()
    finally:
        startup.resume()
    if session.damage is not None:
        _say(f"warning: {session.damage.describe(session.replayer.last)}", error=True)
    return 0


def _check_journal_to_watch(journal: str) -> bool:
    from cockpit.files import FileRefused, check_regular_file

    try:
        check_regular_file(journal, what="journal file")  # watching reads, never writes
    except FileRefused as exc:
        _say(f"error: cannot watch {exc}", error=True)
        return False
    return True


def demo_command(args: argparse.Namespace) -> int:
    """Start the demo service and its traffic, run the demo profile, stop them on exit.

    ``--incident``: v2 goes out outside the cockpit after a warm-up and the cockpit opens on
    the incident; ``--prometheus``: a real Prometheus judges the metrics (history, baseline).
    """
    if not args.warmup >= 0 or args.warmup > 3600:
        _say(f"error: --warmup {args.warmup}: give seconds between 0 and 3600", error=True)
        return 2
    prometheus_binary = None
    if args.prometheus:
        from cockpit.demo.prometheus import PrometheusError, find_prometheus

        try:
            prometheus_binary = find_prometheus()
        except PrometheusError as exc:
            _say(f"error: --prometheus: {exc}", error=True)
            return 2
    sessions_dir = args.sessions_dir or str(default_sessions_dir())
    if not _arguments_ok(sessions_dir=sessions_dir) or not _terminal_ok():
        return 2
    from cockpit.demo.stack import DemoStack

    demo = Path(__file__).resolve().parent.parent / "demo"
    default = demo / ("demo-incident.toml" if args.prometheus else "demo.toml")
    profile = Path(args.profile or default)
    state_dir = Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
    from cockpit.demo.variant import demo_variant
    from cockpit.lock.process import user_name

    profile = demo_variant(
        profile,
        state_dir,
        operator=user_name(os.geteuid()),
        monitor=args.monitor,
        observers=args.observer,
    )
    stack = DemoStack(state_dir, port=args.port)
    prometheus = None
    print("starting the demo service (v1) and its traffic…", flush=True)
    try:
        stack.start()
        os.environ.update(stack.env())
        if prometheus_binary is not None:
            from cockpit.demo.prometheus import DemoPrometheus, environment

            print("starting Prometheus, scraping the demo service every second…", flush=True)
            prometheus = DemoPrometheus(
                prometheus_binary, f"127.0.0.1:{stack.port}", state_dir / "prometheus"
            )
            prometheus.start()
            os.environ.update(environment(prometheus))
        if args.incident:
            _play_incident(stack, prometheus, profile, args.warmup)
    except KeyboardInterrupt:
        _stop_demo(stack, prometheus)
        return 130
    except Exception as exc:  # a demo that cannot start must say why, not print a traceback
        _say(f"error: the demo did not start: {exc}", error=True)
        _stop_demo(stack, prometheus)
        return 1
    try:
        incident = Incident() if args.incident else None
        return _open(profile, args.sessions_dir, incident=incident)
    finally:
        _stop_demo(stack, prometheus)


def _play_incident(stack: Any, prometheus: Any, profile: Path, warmup: float) -> None:
    """v1 warms up, v2 goes out outside the cockpit, the error rate goes RED."""
    from cockpit.demo import incident

    read = None
    if prometheus is not None:
        from cockpit.profile import load_profile, resolve_profile

        source = resolve_profile(load_profile(profile), os.environ).profile.metric("error-rate")
        query = getattr(source.source, "query", "")
        read = lambda: prometheus.value(query)  # noqa: E731 (the demo's own error-rate query)
    incident.play(stack, warmup=warmup, out=sys.stdout, error_rate=read)


def _stop_demo(stack: Any, prometheus: Any) -> None:
    if prometheus is not None:
        prometheus.stop()
    stack.stop()
    _say("demo service stopped.")
