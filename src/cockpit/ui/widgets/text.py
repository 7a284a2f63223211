"""A Static that redraws only when its content changes, and re-lays out only when it must."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widgets import Static

from cockpit.ui.render import text_key


class Label(Static):
    """A Static for content updated on a timer.

    Unchanged content costs nothing. Changed content whose every line keeps its length (an
    age going from 1s to 2s, a value from 20.2 to 20.4) is repainted without a layout pass,
    which is most of the cost of an update on this screen (measured with py-spy).
    """

    _key: object = None
    _shape: tuple[int, ...] | None = None

    def show(self, renderable: RenderableType) -> None:
        """Update only if the content differs from what is shown."""
        key = text_key(renderable)
        if key == self._key:
            return
        self._key = key
        shape = None
        if isinstance(renderable, Text | str):
            plain = renderable.plain if isinstance(renderable, Text) else renderable
            shape = tuple(len(line) for line in plain.split("\n"))
        layout = shape is None or shape != self._shape
        self._shape = shape
        self.update(renderable, layout=layout)
