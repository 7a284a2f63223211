"""Small modal dialogs: a reason to type, a word to type to confirm, a yes/no question."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cockpit.inert import inert


class ReasonDialog(ModalScreen[str | None]):
    """Ask for a reason (HOLD, NO-GO, abort) or a name; Enter confirms, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, placeholder: str = "type, then Enter (Escape cancels)") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(inert(self.title_text, multiline=True)), classes="dialog-title")
            yield Input(placeholder=self.placeholder, id="reason")
            yield Static(
                "Enter confirms · Escape cancels · ctrl+r ROLLS BACK NOW", classes="dialog-help"
            )

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.dismiss(value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class TypeToConfirmDialog(ReasonDialog):
    """Type to confirm: a question (or a word to copy) and a field for the answer. Enter
    answers, whatever was typed: the engine judges it, and records a wrong one as refused.
    Escape cancels; ctrl+r still rolls back (every letter here is part of the answer)."""

    PLACEHOLDERS: ClassVar[dict[str, str]] = {
        "word": "type it, then Enter (Escape cancels)",
        "duration": "a time with its unit: minutes, seconds or m:ss",
        "metric": "type the metric's id, then Enter (Escape cancels)",
    }

    def __init__(self, question: str, who: str, kind: str = "word") -> None:
        super().__init__(question, self.PLACEHOLDERS.get(kind, self.PLACEHOLDERS["word"]))
        self.who = who

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"TYPE TO CONFIRM · {self.who}", classes="dialog-kind")
            yield Static(Text(inert(self.title_text, multiline=True)), classes="dialog-title")
            yield Input(placeholder=self.placeholder, id="reason")
            yield Static(
                "Enter answers · Escape cancels · ctrl+r ROLLS BACK NOW", classes="dialog-help"
            )


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y confirms, n or Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes"),
        Binding("n", "answer(False)", "no"),
        Binding("escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(inert(self.question, multiline=True)), classes="dialog-title")
            yield Static("y: yes · n / Escape: no · ctrl+r ROLLS BACK NOW", classes="dialog-help")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)
