"""A long journal read for its report on two cores: this process verifies the whole journal
and folds it, and counts the samples of its first half; a second process
(``cockpit.evidence.second_half``) counts the samples of the second half meanwhile.

Parsing a record's JSON and counting its samples is nearly all of a long report's cost, and
both are the same for every batch of samples: a day of 16 metrics (196 MB) took 8.0 s on one
core. The counts of a window or a minute of the health log are sums that can be merged (the
second half's after the first's: the last sample, the order of the statuses and the earliest
sample that was not a PASS come out as counting one by one gives them); an incident's live
series cannot (they are binned in order), so an incident is read on one core.

This process still verifies every line's hash and chain, as a report always did (the second
half's batches from their bytes, as ``cockpit verify`` does, unless a rollback is being
verified: the fold judges those samples here). The second process verifies every line it uses
and hands back their sequence numbers and hashes: its counts are taken only if they are of the
records verified here. Whenever anything is not as expected (damage, a record that does not
replay, a sample recorded on its own, a second process that fails), the journal is read again
on one core, exactly as before, and that reading says what is wrong.
"""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
from collections import deque
from pathlib import Path

import cockpit
from cockpit.engine.kinds import Kind
from cockpit.evidence.model import RECENT_BATCHES, Loader, SessionRecord, load_session
from cockpit.evidence.second_half import Half
from cockpit.journal import iter_journal
from cockpit.journal.reader import Scan, verified_records

SPLIT_BYTES = 32 << 20
"""Journals at least this big are read on two cores (about 4 hours of 16 metrics): starting the
second process costs about 0.3 s of its core, and a journal of 16 MB is read in under 1 s on
one."""

SECOND_SHARE = 0.47
"""Where the second process starts, as a share of the file: this one also hashes, and reads
the anchors of, the part the other counts (on a day of 16 metrics, at 0.5 this process was
last to finish, at 0.44 the second one; measured on a busy machine, so roughly)."""

_RUN = (
    "import sys; sys.path.insert(0, sys.argv[1]);"
    " from cockpit.evidence.second_half import main; raise SystemExit(main(sys.argv[2:]))"
)


def read_session(path: Path, *, split_bytes: int = SPLIT_BYTES) -> SessionRecord:
    """Verify a journal and fold it into a :class:`SessionRecord`: the same as
    ``load_session(iter_journal(path), str(path))``, on two cores for a journal of at least
    ``split_bytes``.

    Raises:
        JournalDamaged: the journal does not verify.
        JournalUnreadable: missing, not a regular file, or not a journal.
        NotASession: the records verify but are not a cockpit session.
    """
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # the reading says why
    if size >= split_bytes:
        session = _in_two(path, int(size * SECOND_SHARE))
        if session is not None:
            return session
    return load_session(iter_journal(path), str(path))


def _spawn(path: Path, offset: int) -> subprocess.Popen[bytes] | None:
    root = str(Path(cockpit.__file__).resolve().parent.parent)  # the same code as this one
    if not sys.executable:
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-c", _RUN, root, str(path), str(offset)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def _in_two(path: Path, offset: int) -> SessionRecord | None:
    """The session, its second half's samples counted in a second process; None when that
    cannot be done or its counts cannot be taken (the caller reads on one core)."""
    worker: subprocess.Popen[bytes] | None = None
    skip: set[str] = {Kind.SAMPLES}
    records = verified_records(path, skip=skip, skip_from=offset)
    try:
        loader = Loader()
        boundary: tuple[int, str] | None = None  # the last record before the second half
        before: deque[tuple[int, str]] = deque(maxlen=RECENT_BATCHES)
        while True:
            try:
                at, record = next(records)
            except StopIteration as end:
                scan = end.value
                break
            if record.kind == Kind.SAMPLE:
                return None  # counted in order with the batches: on one core
            second = at >= offset
            loader.add(record, counted=second)
            if not second:
                boundary = (record.seq, record.hash)
                if record.kind == Kind.SAMPLES:
                    before.append(boundary)
            if worker is None:
                if loader.live is not None:
                    return None  # an incident: its live series are binned in order
                worker = _spawn(path, offset)
                if worker is None:
                    return None
            # The second half's batches are parsed here only while the fold needs them.
            if loader.fold.verifying:
                skip.clear()
            else:
                skip.add(Kind.SAMPLES)
        if scan.first_bad_seq is not None or boundary is None or worker is None:
            return None
        out, _ = worker.communicate()
        half = pickle.loads(out)  # noqa: S301  (our own process's, from our own code)
    except Exception:  # whatever it was, one core says it as before
        return None
    finally:
        records.close()  # a reading given up half-way leaves no journal open
        if worker is not None:
            if worker.poll() is None:
                worker.kill()
                with contextlib.suppress(Exception):
                    worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()
    if not isinstance(half, Half) or not _same_records(half, loader, boundary, before, scan):
        return None
    if not _merge(half, loader):
        return None
    loader.count, loader.last_hash = scan.count, scan.last_hash
    return loader.session(str(path))


def _same_records(
    half: Half,
    loader: Loader,
    boundary: tuple[int, str],
    before: deque[tuple[int, str]],
    scan: Scan,
) -> bool:
    """Whether the second process counted from the records verified here."""
    if half.reason is not None:
        return False
    if half.decisions != [(r.seq, r.hash) for r in loader.decisions]:
        return False
    if half.before != list(before):
        return False
    if half.first is None:
        return boundary[0] == scan.count and half.last is None
    first = (boundary[0] + 1, boundary[1])
    return half.first == first and half.last == (scan.count, scan.last_hash)


def _merge(half: Half, loader: Loader) -> bool:
    """Count the second half's counts in after this process's; False if they do not fit."""
    windows = loader.windows.windows
    if [seq for seq, _ in half.windows] != [w.opened.seq for w in windows]:
        return False
    for window, (_, samples) in zip(windows, half.windows, strict=True):
        if samples.keys() != window.samples.keys():
            return False
        for metric_id, summary in samples.items():
            window.samples[metric_id].merge(summary)
    minutes = loader.minutes
    for key, summary in half.minutes.items():
        mine = minutes.get(key)
        if mine is None:
            minutes[key] = summary
        else:
            mine.merge(summary)
    return True
