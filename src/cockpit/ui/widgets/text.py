"""A Static that redraws only when its content changes, and re-lays out only when it must."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.dom import DOMNode
from textual.widgets import Static

from cockpit.ui.render import shown, text_key


class Label(Static):
    """A Static for content updated on a timer.

    Unchanged content costs nothing. Changed content is repainted without a layout pass when
    it cannot move anything: every line keeps its length (an age going from 1s to 2s), or the
    label's width is set by its container and the new text wraps to as many rows as the old
    (a checklist age going from 5s to 10s). A layout pass of this screen costs about 20 ms of
    CPU, a repaint of one label well under one (measured).
    """

    _key: object = None
    _shape: tuple[int, ...] | None = None

    def show(self, renderable: RenderableType) -> None:
        """Update only if the content differs from what is shown; outside text is inert."""
        renderable = shown(renderable)
        key = text_key(renderable)
        if key == self._key:
            return
        self._key = key
        shape = None
        if isinstance(renderable, Text | str):
            plain = renderable.plain if isinstance(renderable, Text) else renderable
            shape = tuple(len(line) for line in plain.split("\n"))
        same_shape = shape is not None and shape == self._shape
        self._shape = shape
        if same_shape or not self._height_decides():
            self.update(renderable, layout=not same_shape)
            return
        rows = self.content_size.height
        self.update(renderable, layout=False)
        height = self.styles.height
        if height is not None and not height.is_auto:
            return  # a set height: the text cannot change it
        if (
            self.get_content_height(self.container_size, self.app.size, self.content_size.width)
            != rows
        ):
            self.refresh(layout=True)

    def _height_decides(self) -> bool:
        """Whether only this label's height can change its layout: its width (and that of
        every container around it) comes from the container, not from the content."""
        if not self.is_mounted or not self.content_size.width or not self.display:
            return False
        node: DOMNode | None = self
        while node is not None and node is not self.screen:
            width = node.styles.width
            if width is not None and width.is_auto:
                return False
            node = node.parent
        return True
