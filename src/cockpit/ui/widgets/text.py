"""A Static that redraws only when its content changes."""

from __future__ import annotations

from rich.console import RenderableType
from textual.widgets import Static

from cockpit.ui.render import text_key


class Label(Static):
    """A Static for content updated on a timer: unchanged content costs no refresh."""

    _key: object = None

    def show(self, renderable: RenderableType) -> None:
        """Update only if the content differs from what is shown."""
        key = text_key(renderable)
        if key != self._key:
            self._key = key
            self.update(renderable)
