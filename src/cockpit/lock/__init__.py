"""The deploy lock: one crew acts on a service (in an environment) at a time.

Opening a session takes a lock on each (service, environment) its profile deploys to, and
records who holds it (user, host, pid and its start time, session), since when and why. A
second session on the same service is refused, told who holds it and how to watch or join.
A lock whose holder is gone can be taken over (the journal says so). After a rollback the
lock stays, marked "rolled back at …, reason …", until ``cockpit unlock`` releases it with a
reason.

Backends: lock files on this host (``local``: ``flock`` plus a record; nothing to set up)
and etcd (``etcd``: a key bound to a lease the session keeps alive, for several hosts).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cockpit.lock.local import FileLocks
from cockpit.lock.places import host_directory, lock_directory
from cockpit.lock.process import is_alive, this_process
from cockpit.lock.record import (
    HELD,
    RELEASED,
    ROLLED_BACK,
    Holder,
    LockKey,
    LockRecord,
)
from cockpit.lock.store import HeldLock, LockError, LockHeld, LockStore
from cockpit.profile.models import Lock, Profile


def lock_keys(profile: Profile) -> list[LockKey]:
    """What a session of ``profile`` locks: its service in each environment it deploys to."""
    service = profile.deployment.service
    environments = {stage.environment for stage in profile.stages}
    return [LockKey(service, env) for env in sorted(environments)]


def open_store(
    config: Lock, sessions_dir: Path, environ: Mapping[str, str] | None = None
) -> LockStore:
    """The lock store a profile's ``[lock]`` names.

    Raises:
        LockError: the etcd settings cannot be used (a TLS file that cannot be read).
    """
    if config.backend == "etcd":
        from cockpit.lock.etcd import EtcdLocks

        return EtcdLocks(config)
    directory, shared = lock_directory(config.directory, sessions_dir, environ)
    return FileLocks(directory, shared=shared)


__all__ = [
    "HELD",
    "RELEASED",
    "ROLLED_BACK",
    "FileLocks",
    "HeldLock",
    "Holder",
    "LockError",
    "LockHeld",
    "LockKey",
    "LockRecord",
    "LockStore",
    "host_directory",
    "is_alive",
    "lock_keys",
    "open_store",
    "this_process",
]
