"""Fixtures shared by the test layers."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """With several workers (``make test`` runs ``pytest -n auto``), install the Debian
    packages the tests need once, here, before the workers start: two workers running apt-get
    at once would fight over dpkg's lock. Each test still checks (and fails in CI) itself."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    from tests.support.browser import ensure_chromium
    from tests.support.etcd import etcd_binary
    from tests.support.prometheus import ensure_prometheus
    from tests.support.tmux import install_tmux

    for ensure in (install_tmux, ensure_prometheus, etcd_binary, ensure_chromium):
        with contextlib.suppress(Exception, pytest.skip.Exception, pytest.fail.Exception):
            ensure()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """How ``make test`` (pytest -n auto --dist loadgroup) shares the tests out: a file's tests
    on one worker (their module fixtures start once), and every end-to-end test on the same
    one, one after another, beside the other layers: two cockpits in tmux at once (and a
    browser) would measure each other, not the cockpit."""
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        path = Path(str(item.path))
        group = "e2e" if e2e in path.parents else str(path)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def utc_timezone() -> Iterator[None]:
    """Local time is UTC for the test: the screen shows the wall clock before T0."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()
