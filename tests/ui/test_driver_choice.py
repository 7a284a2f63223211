"""The quick-quit driver is used only with the Textual release whose input loop it repeats."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from textual.drivers.linux_driver import LinuxDriver

from cockpit.clock import FakeClock
from cockpit.ui import app as app_module
from cockpit.ui.app import PROMPT_DRIVER_TEXTUAL, make_app
from cockpit.ui.driver import PromptLinuxDriver
from tests.support.ui import FAST_PROFILE, WALL, new_session


def test_the_version_is_read_right() -> None:
    assert app_module._textual_version() == version("textual")


@pytest.mark.parametrize(
    ("installed", "expected"),
    [(PROMPT_DRIVER_TEXTUAL, PromptLinuxDriver), ("9.0.0", LinuxDriver)],
)
async def test_driver_by_textual_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installed: str, expected: type[LinuxDriver]
) -> None:
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.setattr(app_module, "_textual_version", lambda: installed)
    session = new_session(FAST_PROFILE, tmp_path, FakeClock(WALL), {"COCKPIT_UI_DIR": "/tmp"})
    try:
        assert make_app(session).get_driver_class() is expected
    finally:
        await session.close()
