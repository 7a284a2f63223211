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

from dataclasses import dataclass
from pathlib import Path

from cockpit.journal.records import is_hex_digest


def anchors_path_for(journal_path: Path) -> Path:
    """The anchor file that belongs to a journal."""
    return journal_path.with_name(journal_path.name + ".anchors")


def format_anchor(seq: int, digest: str) -> bytes:
    """One anchor line."""
    return f"{seq} {digest}\n".encode("ascii")


@dataclass(frozen=True)
class Anchors:
    """The parsed anchor file.

    Attributes:
        hashes: Anchored hash per sequence number, in increasing order.
        good_length: Bytes up to the end of the last good line; a torn tail lies beyond it.
        damaged_after: When a line other than the last is malformed or out of order, the
            sequence number of the last good anchor before it (0 if none); else None.
    """

    hashes: dict[int, str]
    good_length: int
    damaged_after: int | None = None

    @property
    def last_seq(self) -> int:
        """The highest anchored sequence number, 0 when there is none."""
        return next(reversed(self.hashes), 0)


def parse_anchors(data: bytes) -> Anchors:
    """Parse an anchor file's bytes, tolerating a torn last line (a power loss mid-write)."""
    hashes: dict[int, str] = {}
    offset = 0
    last_seq = 0
    lines = data.split(b"\n")
    remainder = lines.pop()  # b"" when the file ends with a newline
    for index, line in enumerate(lines):
        fields = line.split(b" ")
        seq: int | None = None
        if len(fields) == 2 and fields[0].isdigit():
            seq = int(fields[0])
            digest = fields[1].decode("ascii", "replace")
        if seq is None or seq <= last_seq or not is_hex_digest(digest):
            if index == len(lines) - 1 and not remainder:
                break  # a torn last line that happened to end in a newline
            return Anchors(hashes, offset, damaged_after=last_seq)
        hashes[seq] = digest
        last_seq = seq
        offset += len(line) + 1
    return Anchors(hashes, offset)
