"""What the end-to-end tests share: a real tmux, installed when missing and we are root."""

from __future__ import annotations

import os

import pytest

from tests.support.tmux import install_tmux, tmux_path


@pytest.fixture(scope="module")
def tmux_ready() -> None:
    """tmux is there (installed with apt-get when we are root), else fail in CI, skip locally."""
    if tmux_path() is None:
        install_tmux()
    if tmux_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "the e2e tests need tmux and it is not installed: "
                "`apt-get install -y tmux` (Debian/Ubuntu) or `brew install tmux` (macOS)"
            )
        pytest.skip("install tmux")
