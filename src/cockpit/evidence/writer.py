"""Write the evidence files beside a journal, each one atomically (temporary file + rename)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cockpit.evidence.documents import (
    approval_record,
    health_log_csv,
    post_deployment_validation,
    readiness_checklist,
    release_manifest_json,
)
from cockpit.evidence.halves import read_session
from cockpit.evidence.model import NotASession, SessionRecord
from cockpit.evidence.report import render_report
from cockpit.files import fsync_directory, replace_file, secure_directory
from cockpit.inert import inert
from cockpit.journal import JournalUnreadable, session_directory

REPORT = "DEPLOYMENT-REPORT.md"
_DOCUMENTS: tuple[tuple[str, Callable[[SessionRecord], str]], ...] = (
    ("readiness-checklist.md", readiness_checklist),
    ("release-manifest.json", release_manifest_json),
    ("approval-record.md", approval_record),
    ("post-deployment-validation.md", post_deployment_validation),
    ("health-log.csv", health_log_csv),
)
EVIDENCE_FILES = (REPORT, *(name for name, _ in _DOCUMENTS))
"""The names of the files :func:`write_evidence` writes, the report first."""


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old file or the new, never half.

    The file is private (0600), and a symbolic link planted at ``path`` is replaced, never
    followed (see ``cockpit.files.replace_file``).

    Raises:
        OSError: the directory is not writable or the disk is full; ``path`` is unchanged.
    """
    replace_file(path, text.encode("utf-8"))


def render_evidence(session: SessionRecord) -> dict[str, str]:
    """Every evidence file's name and text (pure).

    The journal keeps what was read; the evidence shows it inert: no text from a profile, a
    step's output, a probe or a person can command the terminal of whoever reads the files
    (``cat``, ``less -R``, a pager). The JSON manifest escapes such characters as JSON does.
    """
    files = {REPORT: render_report(session, EVIDENCE_FILES)}
    for name, render in _DOCUMENTS:
        files[name] = render(session)
    return {
        name: text if name.endswith(".json") else inert(text, multiline=True)
        for name, text in files.items()
    }


def write_evidence(journal_path: Path, out_dir: Path | None = None) -> list[Path]:
    """Verify a journal, replay it and write the evidence files; returns their paths.

    Everything is rendered before the first file is written, so a journal that cannot be
    reported on leaves the directory as it was.

    Args:
        journal_path: The session journal.
        out_dir: Where to write (created if missing); default: the session directory,
            ``journal_path.with_suffix("")``.

    Raises:
        JournalDamaged: the journal does not verify (``seq`` is the first bad record);
            nothing is written.
        JournalUnreadable: missing, not a regular file, not a journal, or not a session.
        FileRefused: the evidence directory is a symbolic link, another user's, or writable
            by others (an ``OSError``); nothing is written.
        OSError: the evidence directory cannot be written.
    """
    journal_path = Path(journal_path)
    try:
        # Folded as it is read: damage found at the end is raised before anything is written.
        session = read_session(journal_path)
    except NotASession as exc:
        raise JournalUnreadable(journal_path, str(exc)) from None
    files = render_evidence(session)
    # Ours alone, as is the sessions directory beside it: nobody may plant a link there.
    if out_dir is None:
        directory = session_directory(journal_path)
    else:
        directory = Path(out_dir)
        secure_directory(directory)
    written = []
    for name, text in files.items():
        path = directory / name
        write_atomic(path, text)
        written.append(path)
    fsync_directory(directory)  # make the renames durable
    return written
