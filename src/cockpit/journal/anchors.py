"""The anchor file: an outside witness of every record's hash, so a re-chained edit shows.

Why it exists: each record's hash covers the previous hash, so anyone who edits record *k*
and recomputes the hashes of *k* .. end produces a chain that verifies on its own. The
journal file alone cannot detect that. The writer therefore appends ``"<seq> <hash>\\n"`` to
``<journal>.anchors`` after each record's fsync returned: one more ``os.write`` to the page
cache (a few microseconds), no second fsync, so a rollback still waits on one fsync only.
Verification compares every anchored seq with the journal; the first record whose hash differs
from its anchor is exactly the first edited record.

What it guarantees, and what it does not:

* An anchor is written only after the record is durable, so the anchor file is never ahead of
  the journal after a crash. An anchor for a record that is missing or torn in the journal
  therefore means the journal was cut or damaged after the fact, not by a crash.
* The anchor file is fsynced on close, not per record. After a power loss (not a process crash;
  the page cache survives those) its last lines may be lost or torn. Lost anchors only leave
  the newest records protected by the chain alone; ``Journal.open`` re-anchors them after it
  has verified the chain, and drops a torn last anchor line.
* Threat model: accidental damage and careless or casual editing of a journal by someone who
  does not also edit the anchor file. Someone who can rewrite both files (or delete the anchor
  file and resume the session) can forge a history; protecting against that needs a key or a
  remote witness, which is out of scope. A journal with no anchor file verifies on its chain
  alone and the report says so.
"""

from __future__ import annotations

from pathlib import Path

from cockpit.journal.lines import Lines, with_last
from cockpit.journal.records import is_hex_digest


def anchors_path_for(journal_path: Path) -> Path:
    """The anchor file that belongs to a journal."""
    return journal_path.with_name(journal_path.name + ".anchors")


def format_anchor(seq: int, digest: str) -> bytes:
    """One anchor line."""
    return f"{seq} {digest}\n".encode("ascii")


def parse_anchor(line: bytes) -> tuple[int, str] | None:
    """One anchor line (without its newline) as ``(seq, hash)``, or None if malformed."""
    fields = line.split(b" ")
    if len(fields) != 2 or not fields[0].isdigit():
        return None
    digest = fields[1].decode("ascii", "replace")
    return (int(fields[0]), digest) if is_hex_digest(digest) else None


class AnchorReader:
    """The anchor file read a line at a time, in step with the journal (constant memory).

    A torn last line (a power loss mid-write) is tolerated, as is a last line without its
    newline; any other malformed or out-of-order line is damage.

    Attributes:
        present: Whether there is an anchor file at all.
        damaged_after: Once a malformed line was met where a torn last line cannot be, the
            sequence number of the last good anchor before it (0 if none); else None.
        good_length: Bytes up to the end of the last good line read so far.
    """

    def __init__(self, lines: Lines | None) -> None:
        """Read anchors from ``lines`` (None: there is no anchor file)."""
        self.present = lines is not None
        self.damaged_after: int | None = None
        self.good_length = 0
        self._lines = lines
        self._items = iter(()) if lines is None else with_last(lines)
        self._next: tuple[int, str] | None = None
        self._ended = lines is None
        self._last_seq = 0

    def peek(self) -> tuple[int, str] | None:
        """The next anchor, not taken; None at the end of the file or at damage."""
        if self._next is None and not self._ended:
            self._next = self._read()
        return self._next

    def take(self) -> None:
        """Move past the anchor :meth:`peek` returned."""
        self._next = None

    def _read(self) -> tuple[int, str] | None:
        for line, last in self._items:
            anchor = parse_anchor(line)
            if anchor is None or anchor[0] <= self._last_seq:
                assert self._lines is not None
                if not (last and not self._lines.remainder):  # not a torn last line
                    self.damaged_after = self._last_seq
                break
            self._last_seq = anchor[0]
            self.good_length += len(line) + 1
            return anchor
        self._ended = True
        return None
