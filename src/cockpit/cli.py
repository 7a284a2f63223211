"""The ``cockpit`` command: one sub-command per job, each imported only when used.

Imports stay lazy so that ``cockpit validate`` and ``cockpit verify`` start fast and never
load Textual.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, NoReturn, TextIO, cast

from cockpit import __version__, startup

Handler = Callable[[argparse.Namespace], int]

_PATH_MAX = 4096
"""Linux's limit on a path, in bytes with its terminating NUL; a name may have 255."""
_NAME_MAX = 255


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def path_argument(text: str) -> str:
    """A path given on the command line: refuse what no file can be called, before any use.

    An empty argument would become ``.`` (the current directory) on its way through
    ``pathlib``; a path longer than the system allows fails deep inside whatever opens it.
    """
    if not text:
        raise argparse.ArgumentTypeError("the path is empty; give a file or directory")
    raw = os.fsencode(text)
    longest = max(len(name) for name in raw.split(b"/"))
    if len(raw) >= _PATH_MAX or longest > _NAME_MAX:
        raise argparse.ArgumentTypeError(
            f"the path is too long ({len(raw)} bytes, its longest name {longest}; a path may"
            f" have at most {_PATH_MAX - 1} bytes and a name {_NAME_MAX})"
        )
    return text


def _handler(target: str) -> Handler:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return cast(Handler, getattr(module, attr))


def _session_options(p: argparse.ArgumentParser) -> None:
    """Where the journals go, and taking a dead session's deploy lock: a new session's options."""
    p.add_argument(
        "--sessions-dir", metavar="DIR", type=path_argument, help="where session journals go"
    )
    p.add_argument(
        "--take-over",
        action="store_true",
        help="take the deploy lock of a session whose cockpit is gone (recorded)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every sub-command."""
    parser = _Parser(
        prog="cockpit",
        description="Run a production deploy or an incident rollback with a disciplined crew.",
    )
    parser.add_argument("--version", action="version", version=f"cockpit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check profiles; exit 0 when valid, 2 when not")
    p.add_argument("profiles", nargs="+", metavar="PROFILE", type=path_argument)
    p.add_argument("--strict", action="store_true", help="also apply the safety lint rules")
    p.set_defaults(target="cockpit.profile.commands:validate_command")

    p = sub.add_parser("schema", help="print the JSON Schema of the profile format")
    p.set_defaults(target="cockpit.profile.commands:schema_command")

    p = sub.add_parser("verify", help="verify a session journal's hash chain")
    p.add_argument("journal", metavar="JOURNAL", type=path_argument)
    p.set_defaults(target="cockpit.journal.commands:verify_command")

    p = sub.add_parser("check", help="run readiness checks and sample every metric once")
    p.add_argument("profile", metavar="PROFILE", type=path_argument)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(target="cockpit.probes.commands:check_command")

    p = sub.add_parser("run", help="open the cockpit for a profile")
    p.add_argument("profile", metavar="PROFILE", nargs="?", type=path_argument)
    p.add_argument(
        "--resume",
        metavar="JOURNAL",
        type=path_argument,
        help="reopen a session after a crash: replay its journal, follow running processes",
    )
    _session_options(p)
    p.set_defaults(target="cockpit.ui.launch:run_command")

    p = sub.add_parser("incident", help="declare an incident now and open the cockpit to roll back")
    p.add_argument("profile", metavar="PROFILE", type=path_argument)
    p.add_argument(
        "--baseline-at",
        metavar="TIME",
        help="verify against the metrics at this time (ISO-8601, or before now: -25m); "
        "default: just before the first RED stretch in the metrics' history",
    )
    _session_options(p)
    p.set_defaults(target="cockpit.ui.launch:incident_command")

    p = sub.add_parser("demo", help="start the bundled demo service and run its deploy")
    p.add_argument("--port", type=int, default=0, help="port of the demo service (0: any)")
    p.add_argument(
        "--monitor",
        metavar="USER",
        help="the Monitor's OS user: the two of you run the demo by identity (cockpit attach)",
    )
    p.add_argument(
        "--observer", metavar="USER", action="append", default=[], help="an OS user who watches"
    )
    p.add_argument(
        "--profile", metavar="PROFILE", type=path_argument, help="a variant of the demo profile"
    )
    p.add_argument(
        "--sessions-dir", metavar="DIR", type=path_argument, help="where session journals go"
    )
    p.add_argument(
        "--incident",
        action="store_true",
        help="v2 goes out outside the cockpit after a warm-up; the cockpit opens on the incident",
    )
    p.add_argument(
        "--prometheus",
        action="store_true",
        help="judge the metrics with a real Prometheus (the prometheus binary on PATH)",
    )
    p.add_argument(
        "--warmup", type=float, default=20.0, metavar="SECONDS", help="v1's time before v2 goes out"
    )
    p.set_defaults(target="cockpit.ui.launch:demo_command")

    p = sub.add_parser("watch", help="watch a running session from a second terminal, read-only")
    p.add_argument(
        "journal",
        nargs="?",
        metavar="JOURNAL",
        type=path_argument,
        help="default: the newest open one",
    )
    p.add_argument(
        "--sessions-dir", metavar="DIR", type=path_argument, help="where session journals are"
    )
    p.set_defaults(target="cockpit.ui.launch:watch_command")

    p = sub.add_parser("replay", help="replay a session's journal on the cockpit's screen")
    p.add_argument("journal", metavar="JOURNAL", type=path_argument)
    p.add_argument(
        "--no-prometheus",
        dest="prometheus",
        action="store_false",
        help="do not read the Prometheus metrics' history over the session: the journal alone",
    )
    p.set_defaults(target="cockpit.ui.launch:replay_command")

    p = sub.add_parser("serve", help="show a session read-only in a browser (the room's screen)")
    p.add_argument(
        "journal", nargs="?", metavar="JOURNAL", type=path_argument, help="default: newest open"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=8420, help="port (0: any free one)")
    p.add_argument(
        "--sessions-dir", metavar="DIR", type=path_argument, help="where session journals are"
    )
    p.set_defaults(target="cockpit.ui.room:serve_command")

    p = sub.add_parser("sessions", help="list sessions, newest first, and which can be resumed")
    p.add_argument(
        "--sessions-dir", metavar="DIR", type=path_argument, help="where session journals are"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--attachable",
        action="store_true",
        help="list the running sessions on this host that you may join (cockpit attach)",
    )
    p.set_defaults(target="cockpit.session_list:sessions_command")

    p = sub.add_parser("attach", help="join a running session from your own terminal")
    p.add_argument(
        "session",
        nargs="?",
        metavar="SESSION",
        help="the session's id (or its start, or its service); default: the one you may join",
    )
    p.add_argument(
        "--role",
        choices=["monitor", "observer"],
        help="join as the Monitor (acts) or an observer (watches); default: what you may",
    )
    p.set_defaults(target="cockpit.ui.attach:attach_command")

    p = sub.add_parser("unlock", help="release a deploy lock kept after a rollback (recorded)")
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("--reason", required=True, help="why the service may be deployed again")
    p.add_argument("--environment", metavar="ENV", help="only this environment (default: all)")
    p.add_argument(
        "--profile",
        metavar="PROFILE",
        type=path_argument,
        help="the profile whose [lock] says where the lock is (etcd, a lock directory)",
    )
    p.add_argument(
        "--sessions-dir", metavar="DIR", type=path_argument, help="where session journals are"
    )
    p.set_defaults(target="cockpit.lock.commands:unlock_command")

    p = sub.add_parser("report", help="write DEPLOYMENT-REPORT.md from a journal")
    p.add_argument("journal", metavar="JOURNAL", type=path_argument)
    p.add_argument(
        "--out", metavar="DIR", type=path_argument, help="evidence directory (default: beside it)"
    )
    p.set_defaults(target="cockpit.evidence.commands:report_command")

    p = sub.add_parser("demo-service", help="(demo) run the demo HTTP service")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--state", required=True, metavar="DIR", help="demo state directory")
    p.set_defaults(target="cockpit.demo.service:service_command")

    p = sub.add_parser("demo-ctl", help="(demo) deploy, roll back or inspect the demo service")
    p.add_argument("action", choices=["deploy", "rollback", "status", "smoke"])
    p.add_argument("version", nargs="?", help="version to deploy (v1 or v2)")
    p.add_argument("--state", required=True, metavar="DIR", help="demo state directory")
    p.add_argument("--dry-run", action="store_true", help="check, change nothing")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for readiness")
    p.set_defaults(target="cockpit.demo.control:control_command")

    p = sub.add_parser("demo-load", help="(demo) send steady traffic to the demo service")
    p.add_argument("--url", required=True)
    p.add_argument("--rate", type=float, default=40.0, help="requests per second")
    p.add_argument("--duration", type=float, default=0.0, help="seconds; 0 runs until killed")
    p.set_defaults(target="cockpit.demo.load:load_command")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cockpit`` command; returns the exit status.

    Called without ``argv`` (the ``cockpit`` command itself, ``python -m cockpit``) it ends the
    process when the command is done instead of returning: see :func:`_end_process`; and an
    error nothing caught is reported without the secrets it may quote.
    """
    if argv is None:
        install_crash_report()
    status = _run(argv)
    if argv is None:
        _end_process(status)
    return status


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "target", None):
        commands = (
            "validate, schema, check, run, demo, watch, replay, attach, serve, sessions, unlock,"
            " verify, report"
        )
        parser.error(f"give a command: {commands}")
    if sys.stdout is None:  # started with standard output closed (`cockpit schema >&-`)
        print("error: standard output is closed; cockpit writes its results there", file=sys.stderr)
        return 2
    if argv is None and args.target == "cockpit.ui.launch:incident_command":
        from cockpit import standby  # stdlib only: R may come with the first frame

        standby.start_early()
    if argv is None and _first_frame_cached(args):
        from cockpit import first_frame  # stdlib only: before anything heavy is imported

        first_frame.begin(args.profile, sys.argv[1:])
    try:
        return _dispatch(args, argv)
    finally:
        if "cockpit.first_frame" in sys.modules:  # a start that ended before Textual ran
            sys.modules["cockpit.first_frame"].leave()


def _first_frame_cached(args: argparse.Namespace) -> bool:
    """Whether this start may show its first frame from the cache: a fresh ``run`` (a
    resumed, watched or replayed session is drawn from a journal that changes)."""
    return args.target == "cockpit.ui.launch:run_command" and bool(args.profile) and not args.resume


def _dispatch(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    try:
        if argv is None:
            with startup.paused():  # this process's own start: see cockpit.startup
                handler = _handler(args.target)
        else:
            handler = _handler(args.target)
        if args.target.startswith("cockpit.ui."):  # the screen owns the terminal
            return handler(args)
        with _guarded_stdout():
            status = handler(args)
            sys.stdout.flush()  # a full disk shows here, while the status can still say so
        return status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return 1
    except _StdoutFailed as failed:
        _drop_stdout()  # or the interpreter's own last flush fails again, with a traceback
        reason = failed.error.strerror or str(failed.error)
        print(f"error: cannot write to standard output: {reason}", file=sys.stderr)
        return 2


class _StdoutFailed(Exception):
    """Standard output could not be written (a full disk, /dev/full, an I/O error).

    Not an ``OSError``: a command that reports its own file errors must not mistake this for
    one of them.
    """

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Guarded:
    """Standard output whose write errors (other than a closed pipe) become _StdoutFailed."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _StdoutFailed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _StdoutFailed(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _guarded_stdout() -> Iterator[None]:
    stream = sys.stdout
    sys.stdout = cast(TextIO, _Guarded(stream))
    try:
        yield
    finally:
        sys.stdout = stream


def _drop_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def install_crash_report() -> None:
    """Report an error nothing caught (in any thread) through :func:`_crash_report`."""
    sys.excepthook = _crash_report
    threading.excepthook = _thread_crash_report


def _crash_report(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """The last resort for an error nothing caught: its traceback, with every secret value
    this process resolved redacted and the text inert (an exception may quote either)."""
    import traceback

    from cockpit.runner.redact import Redactor, remembered_secrets

    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(Redactor(remembered_secrets()).shown(text, multiline=True))


def _thread_crash_report(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit and args.exc_value is not None:
        _crash_report(args.exc_type, args.exc_value, args.exc_traceback)


def _end_process(status: int) -> None:
    """Exit without tearing the interpreter down object by object.

    By the time a command returns, everything it must leave behind is on disk: the journal is
    fsynced record by record and closed, the evidence is written and its files closed. What
    the interpreter's own shutdown would add is freeing every module (Textual, pydantic,
    rich) one object at a time: 0.1–0.17 s of every quit, measured. The exit handlers
    (logging's among them) still run and the standard streams are flushed first. A thread
    still working that is not a daemon gets the ordinary, waiting exit.
    """
    main = threading.main_thread()
    if any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate()):
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # a stream closed when the process started is None
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
