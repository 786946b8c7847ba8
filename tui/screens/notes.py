"""Tags and a note on a run, from the saved runs: ``t`` edits the highlighted run's tags, ``n`` its
note, each in a one-line field over the list (Enter saves, Esc leaves it as it was).

Stored as ``glo runs tag`` and ``glo runs note`` store them (``glo.store.notes``: notes.json in the
run folder, written atomically); a tag or note that cannot be stored is said in the field and
nothing is written. The list shows tags after the settings and filters on them (``/ tag=best``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from glo.errors import GloError
from glo.store import notes


class NotesScreen(ModalScreen[bool]):
    """Edit run RUN's tags (KIND 'tags': words) or note (KIND 'note'); dismissed with True when saved."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, run: Any, kind: str) -> None:
        super().__init__()
        self.run, self.kind = run, kind
        self.tags, self.note = notes.read(str(run.path))

    def compose(self) -> ComposeResult:
        with Vertical(id="notes-box"):
            tags = self.kind == "tags"
            what = "tags (words; Enter saves, Esc cancels)" if tags else "note (Enter saves, Esc cancels)"
            yield Static(Text.assemble((self.run.id, "bold"), f"  {what}"), id="notes-title")
            value = " ".join(self.tags) if self.kind == "tags" else self.note
            yield Input(value=value, id="notes-field", max_length=notes.MAX_NOTE + 1,
                        placeholder="best paper-fig2" if self.kind == "tags" else "what this run is for")
            yield Static("", id="notes-error")

    def on_mount(self) -> None:
        self.query_one("#notes-field", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            if self.kind == "tags":
                tags = tuple(dict.fromkeys(notes.check_tag(t) for t in event.value.split()))
                notes.write(str(self.run.path), tags, self.note)
            else:
                notes.set_note(str(self.run.path), event.value)
        except (GloError, OSError) as exc:
            self.query_one("#notes-error", Static).update(Text(str(exc), style="red"))
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class NotesKeys:
    """The saved runs' ``t`` (tags) and ``n`` (note) on the highlighted run (a mixin of RunsScreen)."""

    NOTES_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "tag", "Tag"),
        Binding("n", "note", "Note"),
    ]

    def action_tag(self) -> None:
        self._edit_notes("tags")

    def action_note(self) -> None:
        self._edit_notes("note")

    def _edit_notes(self, kind: str) -> None:
        run = self.current_run()  # type: ignore[attr-defined]
        if run is None:
            return
        self.app.push_screen(NotesScreen(run, kind), self._notes_saved)  # type: ignore[attr-defined]

    def _notes_saved(self, saved: bool | None) -> None:
        if saved:
            self.reads.request(fresh=True)  # type: ignore[attr-defined]  # the row shows them at once
