"""The session journal: the one source of truth of a session, an append-only JSONL file.

Each line is one record chained to the previous one by sha256 (see ``records``). The writer
makes every record durable (one ``os.write`` and one fsync) before the caller acts on it,
repairs a torn last line on open, and refuses any other damage. An anchor file beside the
journal witnesses every record's hash so that an edit whose chain was recomputed still shows.

Threat model: the journal detects crashes, disk damage, and edits by anyone who does not also
rewrite the anchor file, and names the first bad sequence number. Someone who can rewrite both
files can forge a history; that needs a key or a remote witness and is out of scope (see
``anchors``).

This package imports only the standard library so that a subprocess can load it quickly.
"""

from __future__ import annotations

from cockpit.journal.batcher import Batcher
from cockpit.journal.errors import (
    JournalDamaged,
    JournalError,
    JournalFailed,
    JournalLocked,
    JournalUnreadable,
)
from cockpit.journal.reader import (
    VerifyReport,
    iter_journal,
    read_journal,
    read_verified_prefix,
    verify_journal,
)
from cockpit.journal.records import Actor, Record, canonical_json
from cockpit.journal.sessions import default_sessions_dir, new_session_path, session_directory
from cockpit.journal.writer import Journal

__all__ = [
    "Actor",
    "Batcher",
    "Journal",
    "JournalDamaged",
    "JournalError",
    "JournalFailed",
    "JournalLocked",
    "JournalUnreadable",
    "Record",
    "VerifyReport",
    "canonical_json",
    "default_sessions_dir",
    "iter_journal",
    "new_session_path",
    "read_journal",
    "read_verified_prefix",
    "session_directory",
    "verify_journal",
]
