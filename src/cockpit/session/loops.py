"""The session's background loops, and the guard that keeps them alive and visible.

Four loops keep the crew safe: the clock (it carries the trigger-time rule, the health window
and rollback verification), the probes (the stop-point metrics), the checks (the readiness
checklist) and, on the screen, the output reader. A loop must never stop unseen:

- every pass runs under :meth:`LoopGuard.one_pass`: a pass that raises is recorded (once,
  then again only if it keeps failing a minute later) and shown with what it affects, and
  the loop carries on with its next pass;
- a loop that stops anyway (its body raised outside a pass, or ended) is recorded as stopped
  at once, which the top bar shows in words, and is started again a second later;
- the clock also beats: the screen checks the beat every second, so a clock that was
  cancelled or hangs is reported as stopped too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from cockpit.clock import Clock
from cockpit.engine import SYSTEM, Phase, State
from cockpit.engine import intents as i
from cockpit.journal import JournalFailed
from cockpit.profile import Check, Metric, Profile, ResolvedProfile
from cockpit.runner import Redactor
from cockpit.sample import Sample, Status

if TYPE_CHECKING:
    from cockpit.probes.history import MetricHistory

log = logging.getLogger(__name__)


def preload(profile: Profile) -> None:
    """Import what the loops import when they start (the probes, and httpx when a source of
    ``profile`` is asked through it): called on a thread by the screen, so that the event
    loop stays free for R meanwhile."""
    import cockpit.probes
    import cockpit.probes.base
    import cockpit.probes.history  # noqa: F401
    from cockpit.probes.http import needs_httpx

    sources = [*(c.source for c in profile.checks), *(m.source for m in profile.metrics)]
    if needs_httpx(sources):
        # Imported by the first such request otherwise, on the event loop (0.04-0.1 s).
        import httpx  # noqa: F401


class Preload:
    """Work on a thread that is started early, idle, and released later (the loops' imports).

    Starting a thread waits until the new thread runs. At an incident's first frame, under
    load, that wait (``asyncio.to_thread`` starting the default executor's thread) held the
    event loop for up to 15 ms, right when an R may come (faulthandler traces of
    ``benchmarks/incident.py``). This thread is started before the first frame, where it
    costs R nothing, and released after it, which costs the event loop nothing.
    """

    def __init__(self, work: Callable[[], None]) -> None:
        self._work = work
        self._go = threading.Event()
        self._cancelled = False
        self._loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self._loop.create_future()
        """Set when the work is done (with its exception, if it raised)."""
        threading.Thread(target=self._run, name="cockpit-preload", daemon=True).start()

    def release(self) -> None:
        """Let the work begin."""
        self._go.set()

    def cancel(self) -> None:
        """Never do the work (the screen went away first); the thread ends."""
        self._cancelled = True
        self._go.set()

    def _run(self) -> None:
        self._go.wait()
        if self._cancelled:
            return
        error: BaseException | None = None
        try:
            self._work()
        except BaseException as exc:  # handed to whoever awaits it, on the event loop
            error = exc
        with contextlib.suppress(RuntimeError):  # the event loop closed meanwhile
            self._loop.call_soon_threadsafe(self._finish, error)

    def _finish(self, error: BaseException | None) -> None:
        if self.done.done():
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)


CHECK_INTERVAL = 10.0
"""Seconds between re-runs of the readiness checks while the checklist is open."""
TICK_INTERVAL = 0.5
"""Seconds between timer ticks (the trigger-time rule, the health window, verification)."""
FLUSH_INTERVAL = 1.0
"""Seconds between flushes of batched samples to the journal."""
RESTART_DELAY = 1.0
"""Seconds before a loop that stopped is started again."""
CHECKS_OPEN = (Phase.BRIEFING, Phase.CHECKLIST, Phase.INCIDENT)
"""Phases in which the checks run: before GO, and in an incident until R."""
CLOCK_SILENCE = 5.0
"""Seconds without a clock pass after which the clock counts as stopped."""


def describe(exc: BaseException) -> str:
    """An exception in one line, for the record and the screen."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class LoopGuard:
    """Runs passes and loops so that a failure is recorded and shown, never silent.

    Args:
        report: Records a loop's health (a failed pass, a stop, a recovery); never raises.
    """

    def __init__(
        self,
        report: Callable[[i.RecordLoopHealth], None],
        clock: Clock,
        redact: Callable[[str], str] = str,
    ) -> None:
        self._report = report
        self._clock = clock
        self._redact = redact
        self.failing: set[str] = set()
        """Loops whose last pass failed, or that stopped: the next good pass says so."""
        self.beats: dict[str, float] = {}
        """The real (monotonic) time of each loop's last good pass."""

    def passed(self, loop: str) -> None:
        """A pass of ``loop`` worked."""
        self.beats[loop] = time.monotonic()
        if loop in self.failing:
            self.failing.discard(loop)
            self._report(i.RecordLoopHealth(SYSTEM, self._clock.wall(), loop))

    def failed(self, loop: str, exc: BaseException, *, stopped: bool = False) -> None:
        """A pass of ``loop`` raised ``exc`` (or the loop stopped): record and show it."""
        log.error("%s loop %s", loop, "stopped" if stopped else "pass failed", exc_info=exc)
        self.failing.add(loop)
        error = self._redact(describe(exc))
        self._report(i.RecordLoopHealth(SYSTEM, self._clock.wall(), loop, error, stopped=stopped))

    @contextlib.contextmanager
    def one_pass(self, loop: str) -> Iterator[None]:
        """Run one pass of ``loop``: an exception is recorded, never raised."""
        try:
            yield
        except Exception as exc:
            self.failed(loop, exc)
        else:
            self.passed(loop)

    async def keep_running(
        self, loop: str, body: Callable[[], Awaitable[None]], *, may_end: bool = False
    ) -> None:
        """Run ``body`` until cancelled; if it stops, record that and start it again.

        With ``may_end``, ``body`` returning is its normal end (the checklist closes when
        execution starts); otherwise only cancelling ends a loop.
        """
        while True:
            try:
                await body()
                if may_end:
                    return
                stop: BaseException = RuntimeError("the loop ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop = exc
            self.failed(loop, stop, stopped=True)
            await asyncio.sleep(RESTART_DELAY)

    def silent(self, loop: str, limit: float) -> float | None:
        """Seconds since ``loop``'s last good pass if more than ``limit``, else None."""
        beat = self.beats.get(loop)
        if beat is None:
            return None  # not started yet
        quiet = time.monotonic() - beat
        return quiet if quiet > limit else None


class LoopHost(Protocol):
    """What the loops need of the session (:class:`cockpit.session.Session`)."""

    resolved: ResolvedProfile
    clock: Clock
    loops: Loops

    @property
    def state(self) -> State:
        """The session's state."""
        ...

    def quietly(self, intent: i.Intent) -> None:
        """Submit an intent; a refusal is recorded and dropped."""
        ...

    def tick(self) -> None:
        """Let the engine look at the time."""
        ...

    def reconcile(self) -> None:
        """Close any gap between the recorded intents and the running processes."""
        ...

    def flush(self) -> None:
        """Write batched samples."""
        ...


class Loops:
    """The probe, checklist and clock loops of a live session, each under the guard."""

    def __init__(self, host: LoopHost) -> None:
        self.host = host
        self.guard = LoopGuard(host.quietly, host.clock, Redactor(host.resolved.secrets).redact)
        self.clock_silence = CLOCK_SILENCE
        """Seconds without a clock pass before the clock counts as stopped (tests lower it)."""

    async def probes(self) -> None:
        """Sample every metric at its interval until cancelled."""
        from cockpit.probes import ProbeScheduler

        host = self.host
        failing: set[str] = set()  # metrics whose last pass raised

        def on_sample(sample: Sample) -> None:
            host.quietly(i.RecordSample(SYSTEM, host.clock.wall(), sample))
            failing.discard(sample.id)
            if not failing:
                self.guard.passed("probes")

        def on_fault(metric_id: str, exc: BaseException, sample: Sample | None) -> None:
            failing.add(metric_id)
            if sample is not None:
                host.quietly(i.RecordSample(SYSTEM, host.clock.wall(), sample))
            self.guard.failed("probes", exc)

        async def run() -> None:
            scheduler = ProbeScheduler(
                host.resolved.profile.metrics,
                on_sample,
                clock=host.clock,
                secrets=host.resolved.secrets,
                on_fault=on_fault,
            )
            await scheduler.run()

        await self.guard.keep_running("probes", run)

    async def history(self, resolved: ResolvedProfile | None = None) -> list[MetricHistory]:
        """Read every Prometheus metric's history once, concurrently, each within the
        profile's deadline, and record it (a metric of another source has "no history").

        In an incident, then take the baseline from before it (whatever was read: a metric
        without history is verified against its threshold), also when reading failed.
        """
        from cockpit.probes.base import HttpClients
        from cockpit.probes.history import fetch_history

        host = self.host
        profile = (resolved or host.resolved).profile
        secrets = (resolved or host.resolved).secrets
        history = profile.history
        end = host.clock.wall()
        start = end - history.window
        clients = HttpClients()
        results: list[MetricHistory] = []
        before: list[MetricHistory] = []

        async def read(metric: Metric, start: float, end: float, step: float) -> MetricHistory:
            return await fetch_history(
                metric,
                start=start,
                end=end,
                step=step,
                timeout=history.timeout,
                clock=host.clock,
                secrets=secrets,
                clients=clients,
            )

        cancelled = False
        try:
            with self.guard.one_pass("history"):
                results = list(
                    await asyncio.gather(
                        *(read(m, start, end, history.resolution()) for m in profile.metrics)
                    )
                )
                incident = host.state.incident
                at = incident.baseline_at if incident is not None else None
                if at is not None and at - history.baseline_window < start:
                    # The crew's time lies before the history: read the baseline window too.
                    window = history.baseline_window
                    step = max(1.0, window / 30)
                    verified = [profile.metric(m) for m in profile.rollback.verify.metrics]
                    before = list(
                        await asyncio.gather(*(read(m, at - window, at, step) for m in verified))
                    )
            for result in results:
                host.quietly(
                    i.RecordHistory(
                        SYSTEM,
                        host.clock.wall(),
                        result.metric_id,
                        result.start,
                        result.end,
                        result.step,
                        result.points,
                        result.error,
                    )
                )
        except asyncio.CancelledError:
            cancelled = True  # the cockpit is closing: a resumed one reads it again
            raise
        finally:
            await clients.aclose()
            state = host.state
            if not cancelled and state.incident is not None and state.incident.baseline is None:
                extra = tuple((b.metric_id, b.points) for b in before if b.error is None)
                host.quietly(i.TakeBaseline(SYSTEM, host.clock.wall(), extra))
        return results

    async def run_checks(self, *, only_due: bool = False) -> None:
        """Run the automated readiness checks once, concurrently.

        With ``only_due``, only those not PASS or past half their validity: a PASS that is
        still fresh need not be measured again (and the host is not loaded for nothing). A
        check that raises is an ERROR for that check, never a silent gap.

        Raises:
            Exception: the first exception a check raised (after every check was recorded).
        """
        from cockpit.probes import run_check

        host = self.host
        profile = host.resolved.profile

        faults: list[Exception] = []

        async def one(check: Check) -> None:
            try:
                sample = await run_check(
                    check, profile, clock=host.clock, secrets=host.resolved.secrets
                )
            except Exception as exc:
                faults.append(exc)
                why = f"the check failed: {type(exc).__name__}"
                sample = Sample(check.id, Status.ERROR, None, "", host.clock.wall(), why)
            if host.state.phase in CHECKS_OPEN:
                host.quietly(i.RecordCheck(SYSTEM, host.clock.wall(), sample))

        automated = [c for c in profile.checks if c.manual is None]
        if host.state.is_incident:
            # Only what guards the rollback: an incident is when capacity is gone.
            automated = [c for c in automated if c.guards("rollback")]
        if only_due:
            now = host.clock.wall()
            half = profile.checks_valid_for / 2
            due = []
            for check in automated:
                state = host.state.checks.get(check.id)
                last = state.sample if state is not None else None
                if last is None or last.status is not Status.PASS or now - last.measured_at > half:
                    due.append(check)
            automated = due
        await asyncio.gather(*(one(c) for c in automated))
        if faults:
            raise faults[0]  # the pass failed: the guard records it (each check is an ERROR)

    async def checklist(self) -> None:
        """Re-run the readiness checks while the checklist is open."""

        async def run() -> None:
            with self.guard.one_pass("checks"):
                await self.run_checks()
            while self.host.state.phase in (Phase.NEW, *CHECKS_OPEN):
                await asyncio.sleep(CHECK_INTERVAL)
                with self.guard.one_pass("checks"):
                    await self.run_checks(only_due=True)

        await self.guard.keep_running("checks", run, may_end=True)

    async def clock(self) -> None:
        """Tick the engine's timers, reconcile processes and flush samples until cancelled."""
        host = self.host

        async def run() -> None:
            last_flush = host.clock.monotonic()
            self.guard.passed("clock")
            while True:
                await asyncio.sleep(TICK_INTERVAL)
                with self.guard.one_pass("clock"):
                    host.tick()
                    host.reconcile()
                    if host.clock.monotonic() - last_flush >= FLUSH_INTERVAL:
                        last_flush = host.clock.monotonic()
                        with contextlib.suppress(JournalFailed):  # shown as JOURNAL FAILED
                            host.flush()

        await self.guard.keep_running("clock", run)

    def check_clock(self) -> None:
        """Record the clock as stopped when it has been silent too long (called by the
        screen's own timer, which does not depend on the clock loop)."""
        quiet = self.guard.silent("clock", self.clock_silence)
        state = self.host.state
        known = state.loops.get("clock")
        if quiet is not None and not (known is not None and known.stopped):
            self.guard.failed("clock", RuntimeError(f"no tick for {quiet:.0f} s"), stopped=True)
