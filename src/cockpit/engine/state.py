"""The session state: a pure fold of events. ``apply`` is the only code that changes it."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cockpit.engine.events import SAMPLE, Event
from cockpit.engine.kinds import NOT_EVENTS, Kind
from cockpit.engine.verdict import (
    MetricWindow,
    Verdict,
    back_to_baseline,
    combine,
    metric_verdict,
    standing,
    tolerance,
    verification_sample,
)
from cockpit.journal.records import Record
from cockpit.profile.models import Metric, Profile, Step
from cockpit.sample import STATUSES, Sample, Status, status_of

HISTORY = 120
"""Samples kept per metric for the sparkline."""

LOOP_DUTIES = {
    "clock": "the trigger-time rule, the health window and rollback verification",
    "probes": "the stop-point metrics",
    "checks": "the readiness checks",
    "output": "the step output on screen (the output file keeps all of it)",
    "follow": "following the journal",
    "lock": "watching the deploy lock (LOCK LOST blocks new steps)",
    "history": "the metrics' history before the cockpit opened",
}
"""What each background loop carries: what stops when it stops."""


class SessionKind(StrEnum):
    """What a session is for."""

    DEPLOY = "deploy"
    """Ship a release through the whole procedure (briefing, checklist, GO, steps)."""
    INCIDENT = "incident"
    """The bad release is already out: declare the incident, roll back, verify."""


class Phase(StrEnum):
    """Where the procedure is. HOLD is not a phase: it is a flag over one."""

    NEW = "NEW"
    BRIEFING = "BRIEFING"
    CHECKLIST = "CHECKLIST"
    EXECUTING = "EXECUTING"
    HEALTH = "HEALTH WINDOW"
    COMPLETE = "COMPLETE"
    INCIDENT = "INCIDENT"
    ROLLING_BACK = "ROLLING BACK"
    VERIFYING = "VERIFYING ROLLBACK"
    STABILIZING = "STABILIZING"
    ROLLED_BACK = "ROLLED BACK — VERIFIED"
    MITIGATED = "INCIDENT MITIGATED — ROLLED BACK — VERIFIED"
    NOT_VERIFIED = "ROLLED BACK — NOT VERIFIED"
    ABORTED = "ABORTED"

    @property
    def finished(self) -> bool:
        """Whether the session has ended."""
        return self in (
            Phase.COMPLETE,
            Phase.ROLLED_BACK,
            Phase.MITIGATED,
            Phase.NOT_VERIFIED,
            Phase.ABORTED,
        )


class StepStatus(StrEnum):
    """A step's progress."""

    PENDING = "pending"
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class StepState:
    """What happened to one step."""

    id: str
    status: StepStatus = StepStatus.PENDING
    verified_by: str | None = None
    verified_command: list[str] | None = None
    approved_by: str | None = None
    irreversible_ack_by: str | None = None
    pid: int | None = None
    pgid: int | None = None
    output: str | None = None
    supervisor_pid: int = 0
    process_started: float = 0.0
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    why: str | None = None
    stop_point_passed: bool = False


@dataclass
class CheckState:
    """The last result of a readiness check."""

    sample: Sample | None = None
    confirmed_by: str | None = None


@dataclass(frozen=True)
class Past:
    """A metric's history from before the cockpit opened (a range query), or why there is none."""

    start: float
    end: float
    step: float
    points: tuple[tuple[float, float | None], ...]
    """(time, value) in time order; None for a gap."""
    error: str | None = None


@dataclass
class MetricState:
    """A metric's recent history, for the screen."""

    history: deque[Sample] = field(default_factory=lambda: deque(maxlen=HISTORY))
    past: Past | None = None
    """What the metric did before the cockpit opened, once it was read."""

    @property
    def last(self) -> Sample | None:
        """The newest sample."""
        return self.history[-1] if self.history else None

    def red_since(self) -> float | None:
        """When the current run of FAIL samples began; None unless the newest is a FAIL."""
        since = None
        for sample in reversed(self.history):
            if sample.status is not Status.FAIL:
                break
            since = sample.measured_at
        return since


@dataclass
class WindowJudge:
    """What judging a window needs to know of all its metrics, kept as each sample is
    counted, so that judging a sample costs the same whatever the number of metrics.

    Judging looked at every metric for every sample: N² per second, 1.9 times the cost per
    sample at 64 metrics against 8 (``benchmarks/session_scale.py``, measured). The counts
    are of each metric's :func:`standing` (its verdict while its last sample is fresh);
    ``fresh_until`` is when the first of those last samples gets old.
    """

    failed: int = 0
    inconclusive: int = 0
    green: int = 0
    enough: int = 0
    """Metrics with at least their pass count of samples."""
    deadlines: dict[str, float] = field(default_factory=dict)
    """Per metric with a sample: when its last sample gets old."""
    fresh_until: float = math.inf
    at_fresh_until: int = 0
    """How many metrics' last samples get old at ``fresh_until``."""

    @classmethod
    def of(cls, window: Window, profile: Profile) -> WindowJudge:
        """The judge of a window, counted from its counters."""
        judge = cls()
        for metric_id, counter in window.counters.items():
            metric = profile.metric(metric_id)
            judge._add(standing(metric, counter), 1)
            judge.enough += counter.samples >= metric.pass_count
            if counter.last is not None:
                judge.deadlines[metric_id] = counter.last.measured_at + metric.staleness
        judge.fresh_until = min(judge.deadlines.values(), default=math.inf)
        judge.at_fresh_until = sum(d == judge.fresh_until for d in judge.deadlines.values())
        return judge

    def _add(self, verdict: Verdict, step: int) -> None:
        if verdict is Verdict.FAILED:
            self.failed += step
        elif verdict is Verdict.INCONCLUSIVE:
            self.inconclusive += step
        elif verdict is Verdict.GREEN:
            self.green += step

    def moved(
        self, metric_id: str, before: Verdict, after: Verdict, *, crossed: bool, deadline: float
    ) -> None:
        """A metric counted a sample: its standing went from ``before`` to ``after``."""
        if before is not after:
            self._add(before, -1)
            self._add(after, 1)
        self.enough += crossed
        old = self.deadlines.get(metric_id)
        self.deadlines[metric_id] = deadline
        if old == self.fresh_until:
            self.at_fresh_until -= 1
            if self.at_fresh_until == 0:  # the oldest moved on: once per round of samples
                self.fresh_until = min(self.deadlines.values())
                self.at_fresh_until = sum(d == self.fresh_until for d in self.deadlines.values())
                return
        if deadline < self.fresh_until:
            self.fresh_until, self.at_fresh_until = deadline, 1
        elif deadline == self.fresh_until:
            self.at_fresh_until += 1


@dataclass
class Window:
    """A stop point or the health window: metrics judged since ``started``."""

    kind: str  # "stop_point" or "health"
    step_id: str | None
    metrics: list[str]
    started: float
    not_green_since: float | None
    counters: dict[str, MetricWindow]
    advised: str | None = None
    accepted_by: str | None = None
    judge: WindowJudge | None = field(default=None, compare=False, repr=False)
    """Kept up to date by :meth:`count` (None: judge every metric every time)."""

    def count(self, metric: Metric, status: Status, measured_at: float) -> MetricWindow:
        """Count a sample of ``metric`` (one of this window's) in; returns its counter."""
        counter = self.counters[metric.id]
        judge = self.judge
        if judge is None:
            counter.count(status, metric)
            return counter
        before = standing(metric, counter)
        enough = counter.samples >= metric.pass_count
        counter.count(status, metric)
        judge.moved(
            metric.id,
            before,
            standing(metric, counter),
            crossed=not enough and counter.samples >= metric.pass_count,
            deadline=measured_at + metric.staleness,
        )
        return counter


@dataclass
class RollbackCommand:
    """One rollback command's process."""

    index: int
    pid: int | None = None
    pgid: int | None = None
    output: str | None = None
    supervisor_pid: int = 0
    process_started: float = 0.0
    exit_code: int | None = None
    finished: bool = False
    why: str | None = None


@dataclass
class RollbackState:
    """The rollback: why, by whom, its processes and its verification."""

    started: float
    automatic: bool
    reason: str
    by: str
    commands: list[RollbackCommand]
    verify_started: float | None = None
    counters: dict[str, MetricWindow] = field(default_factory=dict)
    verdict: str | None = None
    differences: list[str] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None


@dataclass
class Incident:
    """An incident session: when it was declared, by whom, and what the Monitor did beside R."""

    declared: float
    by: str
    baseline_at: float | None = None
    """The baseline time the crew gave, if any (else the history decides)."""
    plan_verified_by: str | None = None
    """The Monitor who verified the rollback commands, if anyone did."""
    stabilization_started: float | None = None
    baseline: dict[str, Any] | None = None
    """The body of ``baseline.taken``: when, why then, and each verified metric's baseline."""

    @property
    def red_since(self) -> float | None:
        """When the first RED stretch in the history began, if it shows one."""
        red = (self.baseline or {}).get("red")
        return float(red["start"]) if isinstance(red, dict) else None


@dataclass
class Hold:
    """Why progression stopped, and who stopped it."""

    reason: str
    by: str
    role: str
    since: float


@dataclass
class LoopFault:
    """A background loop that failed a pass or stopped, until it works again."""

    loop: str
    error: str
    stopped: bool
    since: float
    recorded: float
    """When this fault was last recorded (a repeated failure is recorded again only later)."""


@dataclass
class LockState:
    """The deploy lock this session holds (or held)."""

    locks: list[str]
    """What is locked: ``service/environment`` each."""
    holder: str
    since: float
    why: str
    store: str
    held: bool = True
    lost: str | None = None
    """Why it is not held any more (LOCK LOST): no new step until it is held again."""
    kept: str | None = None
    """After a rollback: ``rolled back at …, reason …``, until released."""
    released: str | None = None
    taken_over: list[str] = field(default_factory=list)
    """The locks of sessions that were gone, taken over by this one."""


@dataclass
class State:
    """Everything known about a session, derived only from its events."""

    phase: Phase = Phase.NEW
    kind: SessionKind = SessionKind.DEPLOY
    incident: Incident | None = None
    """Set in an incident session from its declaration."""
    profile: Profile | None = None
    profile_path: str = ""
    profile_sha256: str = ""
    crew: dict[str, str] = field(default_factory=dict)
    approvers: tuple[str, ...] = ()
    started: float | None = None
    readback_by: str | None = None
    checks: dict[str, CheckState] = field(default_factory=dict)
    go: dict[str, str] = field(default_factory=dict)
    t0: float | None = None
    baseline: dict[str, float] = field(default_factory=dict)
    steps: list[StepState] = field(default_factory=list)
    metrics: dict[str, MetricState] = field(default_factory=dict)
    window: Window | None = None
    health_started: float | None = None
    hold: Hold | None = None
    rollback: RollbackState | None = None
    advisory: str | None = None
    advised_at: float | None = None
    """When the advisory was given: its figures are from that moment."""
    step_failed_at: float | None = None
    finished: float | None = None
    aborted_reason: str | None = None
    loops: dict[str, LoopFault] = field(default_factory=dict)
    """Background loops that are failing or stopped (empty while all work)."""
    lock: LockState | None = None
    """The deploy lock (None: the session took none, as before locks existed)."""
    attached: dict[str, str] = field(default_factory=dict)
    """Terminals joined with ``cockpit attach``: connection → who, as what, where."""
    event_count: int = 0

    # ------------------------------------------------------------ derived views

    @property
    def is_incident(self) -> bool:
        """Whether this session rolls back a release that is already out."""
        return self.kind is SessionKind.INCIDENT

    def rollback_checks(self) -> list[str]:
        """Ids of the checks that guard the rollback (the ones an incident runs)."""
        if self.profile is None:
            return []
        return [c.id for c in self.profile.checks if c.guards("rollback")]

    def rollback_checks_red(self) -> list[str]:
        """Titles of the checks guarding the rollback whose last result is not PASS (an
        incident shows them beside R; they never block it)."""
        if self.profile is None:
            return []
        red = []
        for check in self.profile.checks:
            if not check.guards("rollback") or check.manual is not None:
                continue
            sample = self.checks[check.id].sample
            if sample is not None and sample.status.value != "PASS":
                red.append(check.title)
        return red

    @property
    def deployed_anything(self) -> bool:
        """Whether any step's process was started (so there may be something to undo)."""
        return any(s.status is not StepStatus.PENDING for s in self.steps)

    def t_plus(self, wall: float) -> float | None:
        """Seconds since T0, or None before execution."""
        return None if self.t0 is None else wall - self.t0

    def next_step(self) -> tuple[int, Step] | None:
        """The first step that has not succeeded, with its index."""
        if self.profile is None:
            return None
        for index, (_, step) in enumerate(self.profile.steps()):
            if self.steps[index].status is not StepStatus.SUCCEEDED:
                return index, step
        return None

    def step_state(self, step_id: str) -> StepState:
        """The state of a step by id."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def running_step(self) -> StepState | None:
        """The step whose process is starting or running, if any."""
        for s in self.steps:
            if s.status in (StepStatus.STARTING, StepStatus.RUNNING):
                return s
        return None

    def window_verdicts(self, now: float) -> dict[str, tuple[Verdict, str]]:
        """Each metric of the open window with its verdict and why."""
        if self.profile is None or self.window is None:
            return {}
        out: dict[str, tuple[Verdict, str]] = {}
        for metric_id in self.window.metrics:
            metric = self.profile.metric(metric_id)
            out[metric_id] = metric_verdict(metric, self.window.counters[metric_id], now)
        return out

    def window_verdict(self, now: float) -> Verdict | None:
        """The verdict of the open stop point or health window."""
        if self.window is None:
            return None
        if self.window.accepted_by is not None:
            return Verdict.GREEN
        return combine([v for v, _ in self.window_verdicts(now).values()])

    def trigger_deadline(self) -> float | None:
        """When the 5-minute rule fires: while a window is not GREEN, or after a step failed."""
        if self.profile is None or self.rollback is not None or self.phase.finished:
            return None
        since = [] if self.step_failed_at is None else [self.step_failed_at]
        if self.window is not None and self.window.not_green_since is not None:
            since.append(self.window.not_green_since)
        if not since:
            return None
        return min(since) + self.profile.briefing.contingency.trigger_time

    def baseline_at(self, now: float) -> dict[str, float]:
        """The values GO would take as the baseline now: every metric with a fresh PASS."""
        assert self.profile is not None
        baseline: dict[str, float] = {}
        for metric in self.profile.metrics:
            last = self.metrics[metric.id].last
            if last is None or last.value is None or last.status is not Status.PASS:
                continue
            if now - last.measured_at <= metric.staleness:
                baseline[metric.id] = last.value
        return baseline

    def baseline_missing(self, now: float) -> list[str]:
        """Verified metrics with no fresh PASS now: GO must wait for them (it takes their
        values as the baseline the rollback is verified against)."""
        assert self.profile is not None
        baseline = self.baseline_at(now)
        return [m for m in self.profile.rollback.verify.metrics if m not in baseline]

    def checks_green(self, now: float | None = None) -> list[str]:
        """Ids of readiness checks that are not GREEN (empty when all are).

        Given ``now``, a PASS older than the profile's ``checks_valid_for`` is not GREEN:
        the system may have changed since it was measured.
        """
        assert self.profile is not None
        valid_for = self.profile.checks_valid_for
        missing = []
        for check in self.profile.checks:
            if not check.guards("deploy"):
                continue
            cs = self.checks[check.id]
            if check.manual is not None:
                if cs.confirmed_by is None:
                    missing.append(check.id)
            else:
                sample = cs.sample
                fresh_pass = (
                    sample is not None
                    and sample.status.value == "PASS"
                    and (now is None or now - sample.measured_at <= valid_for)
                )
                if not fresh_pass:
                    missing.append(check.id)
        return missing


# ---------------------------------------------------------------- the fold


def _open_window(
    state: State, kind: str, step_id: str | None, metrics: list[str], wall: float
) -> None:
    state.window = Window(
        kind=kind,
        step_id=step_id,
        metrics=metrics,
        started=wall,
        not_green_since=wall,
        counters={m: MetricWindow() for m in metrics},
        judge=WindowJudge(),  # every metric PENDING, none with its pass count (at least 1)
    )


def apply(state: State, event: Event) -> State:
    """Fold one event into the state (in place) and return it."""
    handler = _HANDLERS.get(event.kind)
    if handler is not None:
        handler(state, event)
    state.event_count += 1
    return state


def replay(events: Iterable[Event]) -> State:
    """The state after a sequence of events: what a restarted or attached cockpit sees."""
    state = State()
    for event in events:
        apply(state, event)
    return state


def apply_sample(state: State, sample: Sample) -> State:
    """Fold one ``sample`` event in, given as its sample (in place)."""
    _add_sample(state, sample)
    state.event_count += 1
    return state


def apply_record(state: State, record: Record) -> State:
    """Fold one journal record in (in place): the same as applying its events one by one,
    without building an event for each batched sample (a day of 16 metrics is 1.4 million;
    opening it is the cost of folding them)."""
    if record.kind == Kind.SAMPLES:
        for items in record.body.values():
            for item in items:
                apply_sample(state, Sample.from_json(item))
    elif record.kind not in NOT_EVENTS:
        apply(state, Event(record.kind, dict(record.body), record.actor, record.wall))
    return state


class Fold:
    """Folds journal records into a state as they are read: the same state as applying their
    events one by one (a test holds them equal), made for opening a long journal.

    A day of 16 metrics at 1 Hz is 1.4 million samples. Each one is counted into the open
    window's (and the rollback verification's) counters from its journal form, and becomes
    a :class:`Sample` only if it ends up in its metric's history or as a counter's last:
    building every one as an event and a sample cost 3.7 times as much (0.92 s against
    0.25 s for two hours of journal, measured). :func:`_add_sample` is the rule;
    :meth:`_count` must do what it does.
    """

    def __init__(self, state: State | None = None) -> None:
        """Fold on from ``state`` (changed in place; default: a new session's)."""
        self._state = State() if state is None else state
        self._history: dict[str, deque[Mapping[str, Any]]] = {}
        """Per metric, the samples not built yet that its history will hold."""
        self._last: dict[int, tuple[MetricWindow, Mapping[str, Any], bool]] = {}
        """Per counter (by id), the sample not built yet that is its last, and whether it is
        judged against the baseline (rollback verification)."""
        self._judge_again = False

    @property
    def state(self) -> State:
        """The state after the records added so far."""
        self._build()
        return self._state

    @property
    def verifying(self) -> bool:
        """Whether a rollback is being verified: its samples are judged against the baseline."""
        rb = self._state.rollback
        return rb is not None and rb.verify_started is not None and rb.verdict is None

    def pass_over(self, record: Record, samples: int) -> None:
        """Fold a ``samples`` record in as counted only, neither judged in the open window nor
        kept in each metric's history: for a reader that needs neither (the evidence, which
        reads the window's and the history's samples itself; it checks its items as
        :meth:`add` does, and more). Only while no rollback is being verified (those counters
        are in the evidence): :meth:`add` then."""
        assert record.kind == Kind.SAMPLES and not self.verifying
        self._state.event_count += samples

    def add(self, record: Record) -> None:
        """Fold one record in."""
        if record.kind == Kind.SAMPLES:
            self._count(record)
        else:
            self._build()  # every rule sees the state exactly as the events leave it
            apply_record(self._state, record)

    def _count(self, record: Record) -> None:
        state = self._state
        profile = state.profile
        window = state.window
        judged = window.counters if window is not None else {}
        started = window.started if window is not None else 0.0
        rb = state.rollback
        verifying: dict[str, MetricWindow] = {}
        if rb is not None and rb.verify_started is not None and rb.verdict is None:
            verifying = rb.counters
        metrics, history, last = state.metrics, self._history, self._last
        for items in record.body.values():
            for item in items:
                state.event_count += 1
                metric_id = str(item["id"])
                # status_of, without a call for each of a day's 1.4 million samples
                status = STATUSES.get(item["status"]) or status_of(item)
                if status is Status.PASS:
                    value = item.get("value")
                    if value is not None and not math.isfinite(float(value)):
                        status = Status.ERROR
                at = float(item["at"])
                ms = metrics.get(metric_id)
                if ms is None or profile is None:
                    continue
                pending = history.get(metric_id)
                if pending is None:
                    pending = history[metric_id] = deque(maxlen=ms.history.maxlen)
                pending.append(item)
                counted = judged.get(metric_id)
                if counted is not None and at >= started:
                    # The window's judge is counted again once, when the samples are built.
                    counted.count(status, profile.metric(metric_id))
                    last[id(counted)] = (counted, item, False)
                    self._judge_again = True
                if not verifying:
                    continue
                counter = verifying.get(metric_id)
                if counter is not None and rb is not None and at >= (rb.verify_started or 0.0):
                    metric = profile.metric(metric_id)
                    base = state.baseline.get(metric_id)
                    value = item.get("value")
                    if status is Status.PASS and value is not None and base is not None:
                        allowed = tolerance(profile.rollback.verify, metric_id, base)
                        if not back_to_baseline(metric.threshold, base, float(value), allowed):
                            status = Status.FAIL
                    counter.count(status, metric)
                    self._last[id(counter)] = (counter, item, True)

    def _build(self) -> None:
        """Build the samples that the state keeps."""
        state = self._state
        for metric_id, items in self._history.items():
            history = state.metrics[metric_id].history
            history.extend(Sample.from_json(item) for item in items)
        self._history.clear()
        for counter, item, against_baseline in self._last.values():
            sample = Sample.from_json(item)
            if against_baseline and state.profile is not None:
                sample = verification_sample(state.profile, state.baseline, sample)
            counter.last = sample
        self._last.clear()
        window = state.window
        if self._judge_again and window is not None and state.profile is not None:
            window.judge = WindowJudge.of(window, state.profile)
        self._judge_again = False


def events_from_records(records: Iterable[Record]) -> list[Event]:
    """The engine events a journal holds, with batched samples expanded in order."""
    return list(iter_events(records))


def iter_events(records: Iterable[Record]) -> Iterator[Event]:
    """The engine events of records as they are read (a journal streamed from disk)."""
    for record in records:
        if record.kind == Kind.SAMPLES:
            for items in record.body.values():
                for item in items:
                    body = dict(item)
                    wall = float(body.pop("wall", record.wall))
                    yield Event(SAMPLE, body, record.actor, wall)
        elif record.kind not in NOT_EVENTS:
            yield Event(record.kind, dict(record.body), record.actor, record.wall)


def _session_started(state: State, e: Event) -> None:
    b = e.body
    profile = Profile.model_validate(b["profile"])
    state.profile = profile
    state.profile_path = str(b.get("profile_path", ""))
    state.profile_sha256 = str(b.get("profile_sha256", ""))
    state.crew = {"operator": str(b["operator"]), "monitor": str(b["monitor"])}
    state.approvers = tuple(b.get("approvers") or profile.roles.approvers)
    state.started = e.wall
    state.kind = SessionKind(str(b.get("kind") or SessionKind.DEPLOY))
    state.phase = Phase.BRIEFING
    state.checks = {c.id: CheckState() for c in profile.checks}
    state.steps = [StepState(id=step.id) for _, step in profile.steps()]
    state.metrics = {m.id: MetricState() for m in profile.metrics}


def _incident_declared(state: State, e: Event) -> None:
    assert state.profile is not None
    baseline_at = e.body.get("baseline_at")
    state.incident = Incident(
        declared=e.wall,
        by=e.actor.user,
        baseline_at=None if baseline_at is None else float(baseline_at),
    )
    state.t0 = e.wall
    state.phase = Phase.INCIDENT
    # The trigger-time rule counts from T0 while the metrics are not GREEN.
    _open_window(state, "incident", None, state.profile.health_metrics(), e.wall)


def _baseline_taken(state: State, e: Event) -> None:
    if state.incident is None:
        return
    state.incident.baseline = dict(e.body)
    metrics = dict(e.body.get("metrics", {}))
    state.baseline = {
        m: float(b["value"]) for m, b in metrics.items() if b.get("value") is not None
    }
    rb = state.rollback
    if rb is not None and rb.verify_started is not None and rb.verdict is None:
        # Samples judged before the baseline was known count for nothing: start again.
        rb.counters = {m: MetricWindow() for m in rb.counters}


def _plan_verified(state: State, e: Event) -> None:
    if state.incident is not None:
        state.incident.plan_verified_by = e.actor.user


def _stabilization_started(state: State, e: Event) -> None:
    assert state.profile is not None
    state.phase = Phase.STABILIZING
    if state.incident is not None:
        state.incident.stabilization_started = e.wall
    _open_window(state, "stabilization", None, state.profile.health_metrics(), e.wall)
    assert state.window is not None
    state.window.not_green_since = None


def _mitigated(state: State, e: Event) -> None:
    state.phase = Phase.MITIGATED
    state.finished = e.wall
    state.window = None


def _readback(state: State, e: Event) -> None:
    state.readback_by = e.actor.user
    if state.phase is Phase.BRIEFING:
        state.phase = Phase.CHECKLIST


def _check_result(state: State, e: Event) -> None:
    sample = Sample.from_json(dict(e.body["sample"]))
    if sample.id in state.checks:
        state.checks[sample.id].sample = sample


def _check_confirmed(state: State, e: Event) -> None:
    state.checks[str(e.body["check"])].confirmed_by = e.actor.user


def _go(state: State, e: Event) -> None:
    state.go[e.actor.role] = e.actor.user


def _execution_started(state: State, e: Event) -> None:
    state.t0 = e.wall
    state.phase = Phase.EXECUTING
    state.baseline = {k: float(v) for k, v in dict(e.body.get("baseline", {})).items()}


def _hold(state: State, e: Event) -> None:
    state.hold = Hold(str(e.body["reason"]), e.actor.user, e.actor.role, e.wall)
    if e.kind == Kind.NOGO:
        state.go.clear()


def _resume(state: State, e: Event) -> None:
    state.hold = None


def _step_flag(attr: str) -> Any:
    def handler(state: State, e: Event) -> None:
        setattr(state.step_state(str(e.body["step"])), attr, e.actor.user)

    return handler


def _verified(state: State, e: Event) -> None:
    s = state.step_state(str(e.body["step"]))
    s.verified_by = e.actor.user
    s.verified_command = [str(a) for a in e.body.get("command", [])] or None


def _step_starting(state: State, e: Event) -> None:
    s = state.step_state(str(e.body["step"]))
    s.status = StepStatus.STARTING
    s.started = e.wall
    state.window = None
    state.advisory = None


def _process_started(state: State, e: Event) -> None:
    b = e.body
    target: StepState | RollbackCommand
    if b["purpose"] == "step":
        target = state.step_state(str(b["ref"]))
        target.status = StepStatus.RUNNING
    elif state.rollback is not None:
        target = state.rollback.commands[int(b["ref"])]
    else:
        return
    target.pid, target.pgid, target.output = int(b["pid"]), int(b["pgid"]), str(b["output"])
    target.supervisor_pid = int(b.get("supervisor_pid") or 0)
    target.process_started = float(b.get("started_wall") or e.wall)


def _step_not_started(state: State, e: Event) -> None:
    s = state.step_state(str(e.body["step"]))
    s.status = StepStatus.PENDING
    s.started = None


def _step_finished(state: State, e: Event) -> None:
    b = e.body
    s = state.step_state(str(b["step"]))
    s.finished = e.wall
    s.exit_code = b.get("exit_code")
    s.why = b.get("why")
    s.status = StepStatus.SUCCEEDED if b["ok"] else StepStatus.FAILED
    if not b["ok"]:
        state.step_failed_at = e.wall  # not GREEN from here: the 5-minute rule is counting
    # A step that ends during a rollback opens no stop point: nothing judges that release now.
    if b["ok"] and state.profile is not None and state.rollback is None:
        step = next(st for _, st in state.profile.steps() if st.id == s.id)
        _open_window(state, "stop_point", s.id, list(step.stop_point), e.wall)


def _window_passed(state: State, e: Event) -> None:
    if state.window is not None and state.window.step_id is not None:
        state.step_state(state.window.step_id).stop_point_passed = True
    state.window = None
    state.advisory = None


def _health_started(state: State, e: Event) -> None:
    assert state.profile is not None
    state.phase = Phase.HEALTH
    state.health_started = e.wall
    _open_window(state, "health", None, state.profile.health_metrics(), e.wall)
    assert state.window is not None
    state.window.not_green_since = None  # the stop point has just passed: GREEN until judged


def _advised(state: State, e: Event) -> None:
    state.advisory = str(e.body["reason"])
    state.advised_at = e.wall
    if state.window is not None:
        state.window.advised = state.advisory


def _accepted(state: State, e: Event) -> None:
    if state.window is not None:
        state.window.accepted_by = e.actor.user


def _complete(state: State, e: Event) -> None:
    state.phase = Phase.COMPLETE
    state.finished = e.wall
    state.window = None


def _aborted(state: State, e: Event) -> None:
    state.phase = Phase.ABORTED
    state.aborted_reason = str(e.body["reason"])
    state.finished = e.wall


def _rollback_started(state: State, e: Event) -> None:
    b = e.body
    state.phase = Phase.ROLLING_BACK
    state.hold = None
    state.window = None
    state.advisory = None
    state.rollback = RollbackState(
        started=e.wall,
        automatic=bool(b["automatic"]),
        reason=str(b["reason"]),
        by=e.actor.user,
        commands=[RollbackCommand(index=i) for i in range(int(b["commands"]))],
    )


def _rollback_command_finished(state: State, e: Event) -> None:
    assert state.rollback is not None
    c = state.rollback.commands[int(e.body["index"])]
    c.finished = True
    c.exit_code = e.body.get("exit_code")
    c.why = e.body.get("why")


def _rollback_verifying(state: State, e: Event) -> None:
    assert state.rollback is not None
    assert state.profile is not None
    state.phase = Phase.VERIFYING
    state.rollback.verify_started = e.wall
    state.rollback.counters = {m: MetricWindow() for m in state.profile.rollback.verify.metrics}


def _rollback_verdict(state: State, e: Event) -> None:
    assert state.rollback is not None
    verified = e.kind == Kind.ROLLBACK_VERIFIED
    state.rollback.verdict = "VERIFIED" if verified else "NOT VERIFIED"
    state.rollback.differences = [str(d) for d in e.body.get("differences", [])]
    if verified and state.is_incident:
        return  # the stabilization window follows; the incident is not over yet
    state.phase = Phase.ROLLED_BACK if verified else Phase.NOT_VERIFIED
    state.finished = e.wall
    state.window = None


def _sample(state: State, e: Event) -> None:
    _add_sample(state, Sample.from_json(e.body))


def _add_sample(state: State, sample: Sample) -> None:
    ms = state.metrics.get(sample.id)
    if ms is None or state.profile is None:
        return
    ms.history.append(sample)
    metric = state.profile.metric(sample.id)
    if state.window is not None and sample.id in state.window.counters:
        # Samples measured before the window opened say nothing about it.
        if sample.measured_at >= state.window.started:
            state.window.count(metric, sample.status, sample.measured_at).last = sample
    rb = state.rollback
    if rb is not None and rb.verify_started is not None and sample.id in rb.counters:
        if sample.measured_at >= rb.verify_started and rb.verdict is None:
            judged = verification_sample(state.profile, state.baseline, sample)
            rb.counters[sample.id].add(judged, metric)


def _metric_history(state: State, e: Event) -> None:
    b = e.body
    ms = state.metrics.get(str(b["metric"]))
    if ms is None:
        return
    points = tuple((float(t), None if v is None else float(v)) for t, v in b.get("points", []))
    error = b.get("error")
    ms.past = Past(
        float(b["start"]),
        float(b["end"]),
        float(b["step"]),
        points,
        None if error is None else str(error),
    )


def _snapshot(state: State, e: Event) -> None:
    if state.rollback is not None:
        state.rollback.snapshot = dict(e.body)


def _loop_fault(state: State, e: Event) -> None:
    loop = str(e.body["loop"])
    known = state.loops.get(loop)
    same = known is not None and known.stopped == (e.kind == Kind.LOOP_STOPPED)
    state.loops[loop] = LoopFault(
        loop=loop,
        error=str(e.body.get("error", "")),
        stopped=e.kind == Kind.LOOP_STOPPED,
        since=known.since if same and known is not None else e.wall,
        recorded=e.wall,
    )


def _loop_recovered(state: State, e: Event) -> None:
    state.loops.pop(str(e.body["loop"]), None)


def _resumed(state: State, e: Event) -> None:
    state.loops.clear()  # a resumed cockpit runs loops of its own
    state.attached.clear()  # and its own attach socket: nobody is joined yet


def _window_green(state: State, e: Event) -> None:
    if state.window is not None:
        state.window.not_green_since = None if e.kind == Kind.WINDOW_GREEN else e.wall


def _lock_taken(state: State, e: Event) -> None:
    b = e.body
    holder = dict(b.get("holder", {}))
    state.lock = LockState(
        locks=[str(k) for k in b.get("locks", [])],
        holder=f"{holder.get('user')}@{holder.get('host')} (pid {holder.get('pid')})",
        since=float(b.get("since", e.wall)),
        why=str(b.get("why", "")),
        store=str(b.get("store", "")),
        taken_over=[str(t) for t in b.get("taken_over", [])],
    )


def _lock_lost(state: State, e: Event) -> None:
    if state.lock is not None:
        state.lock.held = False
        state.lock.lost = str(e.body.get("reason", "unknown"))


def _lock_kept(state: State, e: Event) -> None:
    if state.lock is not None:
        state.lock.kept = str(e.body.get("text", ""))


def _lock_released(state: State, e: Event) -> None:
    if state.lock is not None:
        state.lock.held = False
        state.lock.kept = None
        state.lock.released = f"{e.body.get('by')}: {e.body.get('reason')}"


def _attach_joined(state: State, e: Event) -> None:
    b = e.body
    where = f" on {b['tty']}" if b.get("tty") else ""
    state.attached[str(b.get("connection"))] = f"{b.get('user')} ({b.get('role')}){where}"


def _attach_left(state: State, e: Event) -> None:
    state.attached.pop(str(e.body.get("connection")), None)


_HANDLERS: dict[str, Callable[[State, Event], None]] = {
    Kind.SESSION_STARTED: _session_started,
    Kind.READBACK_CONFIRMED: _readback,
    Kind.CHECK_RESULT: _check_result,
    Kind.CHECK_CONFIRMED: _check_confirmed,
    Kind.GO: _go,
    Kind.EXECUTION_STARTED: _execution_started,
    Kind.HOLD: _hold,
    Kind.NOGO: _hold,
    Kind.RESUME: _resume,
    Kind.STEP_VERIFIED: _verified,
    Kind.STEP_APPROVED: _step_flag("approved_by"),
    Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED: _step_flag("irreversible_ack_by"),
    Kind.STEP_STARTING: _step_starting,
    Kind.PROCESS_STARTED: _process_started,
    Kind.STEP_FINISHED: _step_finished,
    Kind.STOP_POINT_PASSED: _window_passed,
    Kind.HEALTH_STARTED: _health_started,
    Kind.ROLLBACK_ADVISED: _advised,
    Kind.STOP_POINT_ACCEPTED: _accepted,
    Kind.WINDOW_GREEN: _window_green,
    Kind.WINDOW_NOT_GREEN: _window_green,
    Kind.SESSION_COMPLETE: _complete,
    Kind.SESSION_ABORTED: _aborted,
    Kind.ROLLBACK_STARTED: _rollback_started,
    Kind.ROLLBACK_COMMAND_FINISHED: _rollback_command_finished,
    Kind.ROLLBACK_VERIFYING: _rollback_verifying,
    Kind.ROLLBACK_VERIFIED: _rollback_verdict,
    Kind.ROLLBACK_NOT_VERIFIED: _rollback_verdict,
    Kind.SAMPLE: _sample,
    Kind.ROLLBACK_SNAPSHOT: _snapshot,
    Kind.STEP_NOT_STARTED: _step_not_started,
    Kind.LOOP_FAILED: _loop_fault,
    Kind.LOOP_STOPPED: _loop_fault,
    Kind.LOOP_RECOVERED: _loop_recovered,
    Kind.SESSION_RESUMED: _resumed,
    Kind.LOCK_TAKEN: _lock_taken,
    Kind.LOCK_LOST: _lock_lost,
    Kind.LOCK_KEPT: _lock_kept,
    Kind.LOCK_RELEASED: _lock_released,
    Kind.ATTACH_JOINED: _attach_joined,
    Kind.ATTACH_LEFT: _attach_left,
    Kind.METRIC_HISTORY: _metric_history,
    Kind.INCIDENT_DECLARED: _incident_declared,
    Kind.ROLLBACK_PLAN_VERIFIED: _plan_verified,
    Kind.BASELINE_TAKEN: _baseline_taken,
    Kind.STABILIZATION_STARTED: _stabilization_started,
    Kind.INCIDENT_MITIGATED: _mitigated,
}
