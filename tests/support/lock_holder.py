"""Open a session (taking its deploy lock) and hold it until killed.

Usage: python lock_holder.py PROFILE SESSIONS_DIR
Prints "journal <path>" once the lock is held and the journal exists, or "refused <why>"
(exit status 3) when another session holds it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cockpit.lock import LockHeld
from cockpit.session import Session

if __name__ == "__main__":
    try:
        session = Session.create(Path(sys.argv[1]), sessions_dir=Path(sys.argv[2]), environ={})
    except LockHeld as exc:
        print("refused", exc.message, flush=True)
        sys.exit(3)
    print("journal", session.journal_path, flush=True)
    while True:  # until killed
        time.sleep(3600)
