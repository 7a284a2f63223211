"""A journal replayed for the evidence: its records, the final state and how to name times.

Everything in the evidence is derived from this object, which is derived only from the
journal's records: no clock, no file other than the journal, no profile on disk.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cockpit.durations import format_clock
from cockpit.engine import Fold, State
from cockpit.engine.kinds import Kind
from cockpit.journal import Actor, Record
from cockpit.profile.models import Profile
from cockpit.sample import STATUSES, Sample, Status, status_of


class NotASession(ValueError):
    """The records verify but are not a cockpit session (empty, or do not replay)."""


RECENT_BATCHES = 4
"""Batches of samples kept to fill a window that opens after they were recorded but not
measured before it (a sample measured at the very time the window opened may be recorded
just before it; the batches are flushed before every decision)."""


LIVE_POINTS = 2048
"""Valued samples of a metric an incident report keeps as they are for its live sparkline
(30 cells); past that, neighbours are merged by pairs, so a long incident costs no more."""


class Seen(NamedTuple):
    """A sample as the journal holds it, read as far as the evidence needs: a day of 16
    metrics is 1.4 million samples, and building each as a :class:`Sample` doubled the time
    of a report (measured); only the last of each summary is built."""

    id: str
    status: Status
    value: float | None
    measured_at: float
    item: Mapping[str, Any]


_SAMPLE_KINDS = frozenset({Kind.SAMPLES, Kind.SAMPLE})
"""Records of samples: a batch, or one sample recorded on its own (as a journal written
without the batcher holds them)."""


def _seen(record: Record) -> Iterator[Seen]:
    """The samples a ``samples`` record batches (or a ``sample`` record holds), in journal
    order."""
    if record.kind == Kind.SAMPLE:
        yield _seen_item(record.body)
        return
    for items in record.body.values():
        for item in items:
            yield _seen_item(item)


def _seen_item(item: Mapping[str, Any]) -> Seen:
    value = item.get("value")
    if value is not None:
        value = float(value)
        if not math.isfinite(value):  # as Sample.from_json: never a value
            value = None
    return Seen(str(item["id"]), status_of(item), value, float(item["at"]), item)


@dataclass(slots=True)
class MetricSummary:
    """One metric's samples over a span: how many, by status, the lowest, highest and last."""

    count: int = 0
    statuses: Counter[Status] = field(default_factory=Counter)
    low: float | None = None
    high: float | None = None
    last_item: Mapping[str, Any] | None = None
    """The last in journal order, as the journal holds it."""
    first_not_pass: float | None = None
    """When the earliest sample that was not PASS was measured."""

    @property
    def last(self) -> Sample | None:
        """The last sample, in journal order."""
        return None if self.last_item is None else Sample.from_json(self.last_item)

    def add(self, sample: Seen) -> None:
        """Count one sample in."""
        self.count_in(sample.status, sample.value, sample.measured_at, sample.item)

    def merge(self, later: MetricSummary) -> None:
        """Count in the samples of ``later``, all of them read after this one's: the same as
        counting them in one by one after this one's (the order of ``statuses`` included)."""
        if later.count == 0:
            return
        self.count += later.count
        for status, count in later.statuses.items():
            self.statuses[status] += count
        if later.low is not None and (self.low is None or later.low < self.low):
            self.low = later.low
        if later.high is not None and (self.high is None or later.high > self.high):
            self.high = later.high
        self.last_item = later.last_item
        if later.first_not_pass is not None and (
            self.first_not_pass is None or later.first_not_pass < self.first_not_pass
        ):
            self.first_not_pass = later.first_not_pass

    def count_in(
        self, status: Status, value: float | None, measured_at: float, item: Mapping[str, Any]
    ) -> None:
        """Count one sample in, given as its parts (:func:`load_session` builds no
        :class:`Seen` for the 1.4 million samples of a day)."""
        self.count += 1
        self.statuses[status] += 1
        if value is not None:
            if self.low is None or value < self.low:
                self.low = value
            if self.high is None or value > self.high:
                self.high = value
        self.last_item = item
        if status is not Status.PASS and (
            self.first_not_pass is None or measured_at < self.first_not_pass
        ):
            self.first_not_pass = measured_at


@dataclass
class LiveSeries:
    """One metric's samples as the incident report draws them after the history: the span
    from the first to the last (in journal order) and the values, summed up in bins of time
    that :meth:`buckets` averages per cell.

    Up to :data:`LIVE_POINTS` valued samples each bin is one sample and the cells are exactly
    :func:`cockpit.sparkline.buckets` of them. Past that, the samples are summed up in bins of
    equal width (doubled whenever there would be more than :data:`LIVE_POINTS`), each drawn
    at its samples' mean time: a bin lies in one cell whole, so only a bin across a cell's
    edge (at most 1/34 of a cell of the report's 30) moves a few samples to its neighbour.
    """

    first: float | None = None
    last: float | None = None
    bins: dict[int, list[float]] = field(default_factory=dict)
    """Key → [sum of times, sum of values, how many]."""
    width: float = 0.0
    """Seconds per bin; 0 while every sample is a bin of its own."""

    def add(self, measured_at: float, value: float | None) -> None:
        """Count one sample in (one without a value only stretches the span)."""
        if self.first is None:
            self.first = measured_at
        self.last = measured_at
        if value is None:
            return
        if self.width == 0.0:
            self.bins[len(self.bins)] = [measured_at, value, 1]
            if len(self.bins) > LIVE_POINTS:
                times = [b[0] for b in self.bins.values()]
                self._rebin(max((max(times) - min(times)) / (LIVE_POINTS // 2), 1e-3))
            return
        key = math.floor((measured_at - self.first) / self.width)
        kept = self.bins.get(key)
        if kept is None:
            self.bins[key] = [measured_at, value, 1]
            if len(self.bins) > LIVE_POINTS:
                self._rebin(self.width * 2)
        else:
            kept[0] += measured_at
            kept[1] += value
            kept[2] += 1

    def _rebin(self, width: float) -> None:
        assert self.first is not None
        bins: dict[int, list[float]] = {}
        for total_t, total_v, count in self.bins.values():
            key = math.floor((total_t / count - self.first) / width)
            kept = bins.get(key)
            if kept is None:
                bins[key] = [total_t, total_v, count]
            else:
                kept[0] += total_t
                kept[1] += total_v
                kept[2] += count
        self.bins, self.width = bins, width
        if len(bins) > LIVE_POINTS:  # samples far out of order: wider still
            self._rebin(width * 2)

    def buckets(self, cells: int) -> list[float | None]:
        """The samples from the first to the last as ``cells`` means (None where none was)."""
        if cells <= 0 or self.first is None or self.last is None:
            return []
        start, end = self.first, self.last + 1e-6
        span = max(end - start, 1e-9)
        sums = [0.0] * cells
        counts = [0.0] * cells
        for total_t, total_v, count in self.bins.values():
            t = total_t if count == 1 else total_t / count
            cell = min(cells - 1, max(0, int((t - start) / span * cells)))
            sums[cell] += total_v
            counts[cell] += count
        return [sums[n] / counts[n] if counts[n] else None for n in range(cells)]


@dataclass
class JudgedWindow:
    """A stop point or the health window as the journal shows it, and its samples.

    Its samples are those measured from its opening record's time to its closing one's
    (to the end of the journal while it is open), summed up per metric.
    """

    step_id: str | None
    """The step whose stop point it is; None for the health window."""
    opened: Record
    metrics: list[str]
    closed: Record | None = None
    verdict: str = "… open when the journal ends"
    samples: dict[str, MetricSummary] = field(default_factory=dict)

    def add(self, sample: Seen) -> None:
        """Count a sample in if it is one of this window's."""
        if sample.id not in self.samples or sample.measured_at < self.opened.wall:
            return
        if self.closed is not None and sample.measured_at > self.closed.wall:
            return
        self.samples[sample.id].add(sample)


class _Windows:
    """Follows the records to open and close the judged windows as they go by."""

    def __init__(self) -> None:
        self.windows: list[JudgedWindow] = []
        self._current: JudgedWindow | None = None

    def _open(self, step_id: str | None, record: Record, metrics: list[str]) -> JudgedWindow:
        window = JudgedWindow(step_id, record, metrics)
        window.samples = {metric_id: MetricSummary() for metric_id in metrics}
        self.windows.append(window)
        self._current = window
        return window

    def on_record(self, record: Record, state: State) -> JudgedWindow | None:
        """Open or close a window at ``record`` (already folded into ``state``); returns a
        window it opened."""
        b = record.body
        current = self._current
        if record.kind == Kind.STEP_FINISHED and b.get("ok"):
            step_id = str(b.get("step"))
            steps = [] if state.profile is None else state.profile.steps()
            stop_point = next((list(st.stop_point) for _, st in steps if st.id == step_id), [])
            return self._open(step_id, record, stop_point)
        if record.kind == Kind.HEALTH_STARTED:
            metrics = [] if state.profile is None else state.profile.health_metrics()
            return self._open(None, record, metrics)
        if current is None or current.closed is not None:
            return None
        if record.kind == Kind.STOP_POINT_PASSED:
            current.closed, current.verdict = record, f"✔ PASSED ({b.get('how')})"
        elif record.kind == Kind.STOP_POINT_ACCEPTED and current.step_id is None:
            current.verdict = f"… INCONCLUSIVE accepted by {who(record.actor)}: {b.get('reason')}"
        elif record.kind == Kind.ROLLBACK_ADVISED and not current.verdict.startswith("✘"):
            current.verdict = f"✘ NOT GREEN: {b.get('reason')}"
        elif record.kind == Kind.ROLLBACK_STARTED:
            reason = b.get("reason")
            current.closed = record
            if not current.verdict.startswith("✘"):
                current.verdict = f"✘ NOT GREEN: rolled back ({reason})"
        elif record.kind == Kind.SESSION_COMPLETE:
            current.closed, current.verdict = record, "✔ PASSED: GREEN to the end"
        return None


@dataclass
class SessionRecord:
    """A verified journal, folded: what the evidence is made of.

    It keeps the records of decisions and summaries of the samples, never every sample:
    a 24-hour session of 16 metrics holds 1.4 million of them.

    Attributes:
        decisions: Every record except the samples (batched or not), in order.
        state: The state after the last record.
        record_count: Records in the journal, the batches of samples included.
        last_hash: The hash of the last record, which ties the evidence to the journal.
        windows: The stop points and the health window, with their samples summed up.
        minutes: Each metric's samples summed up per minute of measurement (the health log),
            keyed by the minute's start (epoch seconds) and the metric's id.
        live: An incident's samples per metric, for its report's sparklines (empty for a
            deploy).
        journal_path: Where the journal is, when known (for the report's footer).
    """

    decisions: list[Record]
    state: State
    record_count: int
    last_hash: str
    windows: list[JudgedWindow] = field(default_factory=list)
    minutes: dict[tuple[int, str], MetricSummary] = field(default_factory=dict)
    live: dict[str, LiveSeries] = field(default_factory=dict)
    journal_path: str | None = None

    @property
    def profile(self) -> Profile:
        """The profile recorded when the session started."""
        assert self.state.profile is not None
        return self.state.profile

    @property
    def t0(self) -> float | None:
        """Wall time of T0, or None if execution never started."""
        return self.state.t0

    @property
    def started_body(self) -> dict[str, Any]:
        """The body of the ``session.started`` record."""
        return dict(self.decisions[0].body)

    def of_kind(self, *kinds: str) -> list[Record]:
        """Records of some kinds, in order (never the batches of samples)."""
        return [r for r in self.decisions if r.kind in kinds]

    def t_plus(self, wall: float) -> float | None:
        """Seconds since T0 for a wall time at or after T0, else None."""
        if self.t0 is None or wall < self.t0:
            return None
        return wall - self.t0

    def when(self, wall: float, t_plus: float | None = None) -> str:
        """``T+mm:ss`` after T0, ISO-8601 UTC wall time before it."""
        if t_plus is None:
            t_plus = self.t_plus(wall)
        return iso(wall) if t_plus is None else f"T+{format_clock(t_plus)}"

    def at(self, record: Record) -> str:
        """When a record happened, as :meth:`when` names it."""
        return self.when(record.wall, record.t_plus)

    def step_title(self, step_id: str) -> str:
        """A step's title, or its id if the profile does not know it."""
        for _, step in self.profile.steps():
            if step.id == step_id:
                return step.title
        return step_id

    def step_number(self, step_id: str) -> int:
        """A step's 1-based position in the procedure (0 if unknown)."""
        for index, (_, step) in enumerate(self.profile.steps()):
            if step.id == step_id:
                return index + 1
        return 0

    def metric_title(self, metric_id: str) -> str:
        """A metric's title, or its id."""
        try:
            return self.profile.metric(metric_id).title
        except KeyError:
            return metric_id

    def metric_unit(self, metric_id: str) -> str:
        """A metric's unit, or empty."""
        try:
            return self.profile.metric(metric_id).unit
        except KeyError:
            return ""


def iso(wall: float, *, millis: bool = False) -> str:
    """ISO-8601 UTC, e.g. ``2027-01-15T08:00:00Z`` (with milliseconds when asked)."""
    moment = dt.datetime.fromtimestamp(wall, tz=dt.UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def who(actor: Actor) -> str:
    """``grace (monitor)``, or ``cockpit`` for the cockpit's own decisions; with the OS
    identity where the record has it: ``grace (monitor, uid 1001, /dev/pts/3)``."""
    if actor.role == actor.user:
        return actor.user
    if actor.uid is not None:
        where = f", {actor.tty}" if actor.tty else ""
        return f"{actor.user} ({actor.role}, uid {actor.uid}{where})"
    return f"{actor.user} ({actor.role})"


def compact(body: Any) -> str:
    """A body as one line of JSON, for kinds the evidence has no words for."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _count_samples(
    record: Record,
    windows: list[JudgedWindow],
    minutes: dict[tuple[int, str], MetricSummary],
    live: dict[str, LiveSeries] | None,
) -> None:
    """Count a record's samples into the judged windows, the minutes of the health log and an
    incident's live series: what :meth:`JudgedWindow.add`, :meth:`MetricSummary.add` and
    :meth:`LiveSeries.add` do for each :class:`Seen`, without building one (a day of 16
    metrics is 1.4 million samples: building each, and calling through each window, was
    most of the cost of a report; measured, see BENCHMARKS.md). :meth:`MetricSummary.count_in`
    is written out here: two calls per sample were a third of this loop (measured)."""
    spans = [
        (w.samples, w.opened.wall, math.inf if w.closed is None else w.closed.wall) for w in windows
    ]
    items: Iterable[Mapping[str, Any]]
    if record.kind == Kind.SAMPLE:
        items = (record.body,)
    else:
        items = [item for batch in record.body.values() for item in batch]
    minute_of: dict[float, int] = {}
    isfinite, statuses, passed = math.isfinite, STATUSES, Status.PASS
    for item in items:
        # As _seen_item, in its order (a bad item fails the same way).
        value = item.get("value")
        if value is not None:
            value = float(value)
            if not isfinite(value):
                value = None
        metric_id = str(item["id"])
        status = statuses.get(item["status"]) or status_of(item)
        if status is passed and value is None and item.get("value") is not None:
            status = Status.ERROR  # as status_of: a value that is not finite is never a PASS
        at = float(item["at"])
        start = minute_of.get(at)
        if start is None:
            start = minute_of[at] = int(at // 60) * 60
        minute = (start, metric_id)
        summary = minutes.get(minute)
        if summary is None:
            summary = minutes[minute] = MetricSummary()
        for samples, opened, closed in spans:
            counted = samples.get(metric_id)
            if counted is None or at < opened or at > closed:
                continue
            counted.count += 1  # MetricSummary.count_in, written out (as below)
            counted.statuses[status] += 1
            if value is not None:
                if counted.low is None or value < counted.low:
                    counted.low = value
                if counted.high is None or value > counted.high:
                    counted.high = value
            counted.last_item = item
            if status is not passed and (
                counted.first_not_pass is None or at < counted.first_not_pass
            ):
                counted.first_not_pass = at
        summary.count += 1
        summary.statuses[status] += 1
        if value is not None:
            if summary.low is None or value < summary.low:
                summary.low = value
            if summary.high is None or value > summary.high:
                summary.high = value
        summary.last_item = item
        if status is not passed and (summary.first_not_pass is None or at < summary.first_not_pass):
            summary.first_not_pass = at
        if live is not None:
            series = live.get(metric_id)
            if series is None:
                series = live[metric_id] = LiveSeries()
            series.add(at, value)


class Loader:
    """Folds verified records, as they are read, into a :class:`SessionRecord`.

    ``add(record, counted=True)`` leaves a record's samples to someone else: the second half of
    a long journal's samples is counted in another process (``cockpit.evidence.halves``),
    which also fills the windows that open in that half with the batches recorded before
    them; the fold here still judges a rollback's verification from them.
    """

    def __init__(self) -> None:
        self.fold = Fold()
        self.decisions: list[Record] = []
        self.windows = _Windows()
        self.minutes: dict[tuple[int, str], MetricSummary] = {}
        self.live: dict[str, LiveSeries] | None = None  # only an incident's report draws them
        self.recent: deque[Record] = deque(maxlen=RECENT_BATCHES)
        self.count = 0
        self.last_hash = ""

    def add(self, record: Record, *, counted: bool = False) -> None:
        """Fold one record in (``counted``: its samples are counted elsewhere).

        Raises:
            NotASession: the first record is not ``session.started``, or the record does not
                replay (named by its sequence number).
        """
        if self.count == 0 and record.kind != Kind.SESSION_STARTED:
            raise NotASession(
                f"not a cockpit session: record 1 is {record.kind!r}, not 'session.started'"
            )
        fold, windows = self.fold, self.windows
        self.count += 1
        self.last_hash = record.hash
        if record.kind not in _SAMPLE_KINDS:
            self.decisions.append(record)
        opened: JudgedWindow | None = None
        try:
            if record.kind == Kind.SAMPLES and not fold.verifying and not counted:
                # Counted once, here: the fold's judging of the open window and each
                # metric's history are for the screen, which the evidence is not (it reads
                # neither); the samples are checked here as the fold checks them, and more.
                self.recent.append(record)
                try:
                    _count_samples(record, windows.windows, self.minutes, self.live)
                except Exception:
                    fold.add(record)  # what the fold finds wrong first is named, as before
                    raise
                fold.pass_over(record, sum(map(len, record.body.values())))
                return
            fold.add(record)
            if record.kind in _SAMPLE_KINDS:
                if not counted:
                    self.recent.append(record)
                    _count_samples(record, windows.windows, self.minutes, self.live)
            else:
                state = fold.state
                if record.kind == Kind.SESSION_STARTED:
                    self.live = {} if state.is_incident else None
                opened = windows.on_record(record, state)
        except Exception as exc:  # a hash-valid record the engine cannot fold
            raise NotASession(
                f"record {record.seq} ({record.kind}) does not replay: {type(exc).__name__}: {exc}"
            ) from exc
        if opened is not None and not counted:  # recorded before it, measured after it opened
            for batch in self.recent:
                for sample in _seen(batch):
                    opened.add(sample)

    def session(self, journal_path: str | None = None) -> SessionRecord:
        """The session folded so far.

        Raises:
            NotASession: no record was added.
        """
        if self.count == 0:
            raise NotASession("the journal is empty: no session was recorded")
        return SessionRecord(
            decisions=self.decisions,
            state=self.fold.state,
            record_count=self.count,
            last_hash=self.last_hash,
            windows=self.windows.windows,
            minutes=self.minutes,
            live=self.live or {},
            journal_path=journal_path,
        )


def load_session(records: Iterable[Record], journal_path: str | None = None) -> SessionRecord:
    """Fold verified records, as they are read, into a :class:`SessionRecord`.

    Raises:
        NotASession: no records, the first is not ``session.started``, or a record does not
            replay (named by its sequence number).
    """
    loader = Loader()
    for record in records:
        loader.add(record)
    return loader.session(journal_path)
