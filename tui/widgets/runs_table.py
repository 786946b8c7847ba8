"""The saved runs' table: a ``DataTable`` for thousands of one-line rows that change a few at a time.

Textual's ``DataTable`` walks every row to place them each time any cell changes (about 50 ms at
10,000 rows) and moves every row to remove one. Here every row is one line high, so rows are placed
only when rows come, go or move; many rows go at once in one pass (``remove_rows``), and rows are
put in a given order in one pass (``reorder``). ``sync`` brings the table to a list of rows with the
fewest changes, adding new rows a chunk at a time so that the screen keeps answering keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Sequence
from itertools import zip_longest
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, DuplicateKey, Row, RowKey

from tui.runsfolder import no_gc_pauses

CHUNK = 1000  # rows added between two turns of the event loop (each takes some 30 us to make, add and measure)


class RunsTable(DataTable):
    """A ``DataTable`` of one-line rows, keyed by run id."""

    def __init__(self, **kw: Any) -> None:
        self._layout = 0  # bumped whenever rows go or move
        self._placed: tuple[tuple[int, int], list[Row], list[tuple[RowKey, int]]] | None = None
        super().__init__(**kw)

    # --- where rows are: rebuilt only when rows come, go or move, not when a cell changes ---
    def _place(self) -> tuple[list[Row], list[tuple[RowKey, int]]]:
        key = (self.row_count, self._layout)
        if self._placed is None or self._placed[0] != key:
            get, rows = self._row_locations.get_key, self.rows
            ordered = [rows[k] for i in range(self.row_count) if (k := get(i)) is not None]  # every index has a key
            self._placed = (key, ordered, [(row.key, 0) for row in ordered])
        return self._placed[1], self._placed[2]

    @property
    def ordered_rows(self) -> list[Row]:
        return self._place()[0]

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:  # every row is one line: its y is its index
        return self._place()[1]

    def add_row(self, *cells: Any, key: str | None = None, **kw: Any) -> RowKey:
        """Add a row at the bottom. It moves no other row, so what is drawn stays drawn (DataTable
        would draw every visible row again for each row added)."""
        count, placed = self._update_count, self._placed
        row_key = super().add_row(*cells, key=key, **kw)
        self._update_count = count
        if placed is not None and placed is self._placed and placed[0] == (self.row_count - 1, self._layout):
            row = self.rows[row_key]  # placed as before, one more at the bottom: no walk over every row
            placed[1].append(row)
            placed[2].append((row.key, 0))
            self._placed = ((self.row_count, self._layout), placed[1], placed[2])
        return row_key

    def remove_row(self, row_key: RowKey | str) -> None:
        self._layout += 1
        super().remove_row(row_key)

    def clear(self, columns: bool = False) -> RunsTable:
        self._layout += 1
        self._placed = ((self.row_count, self._layout), [], [])  # nothing to place: not worth a walk
        super().clear(columns)
        return self

    def sort(self, *columns: Any, **kw: Any) -> RunsTable:
        self._layout += 1
        super().sort(*columns, **kw)
        return self

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Widen the columns for the new rows by their text (every cell here is a line of text:
        measuring it as a rich renderable, as DataTable does, costs far more), then size the table."""
        columns, wider = self.ordered_columns, False
        for row_key in new_rows:
            cells = self._data.get(row_key)
            if cells is None:
                continue
            for column in columns:
                cell = cells.get(column.key)
                width = cell.cell_len if isinstance(cell, Text) else cell_len(str(cell or ""))
                if width > column.content_width:
                    column.content_width, wider = width, True
        if wider:  # every row is drawn anew at the new widths
            self._update_count += 1
            self.refresh()
        super()._update_dimensions(())

    # --- many rows at once ---
    def append_rows(self, rows: Sequence[tuple[str, Sequence[Any], Sequence[str]]]) -> None:
        """Add rows (key, cells, the text of each cell) at the bottom, all at once: ``add_row`` sets
        the cursor (waking its watchers), marks every drawn row stale and measures each cell."""
        if not rows:
            return
        was_empty, columns = self.row_count == 0, self.ordered_columns
        keys, widths = [column.key for column in columns], [column.content_width for column in columns]
        placed = self._placed
        fresh = placed is not None and placed[0] == (self.row_count, self._layout)
        for key, cells, text in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {key!r} already exists.")
            self._row_locations[row_key] = len(self.rows)
            self._data[row_key] = dict(zip_longest(keys, cells))
            row = self.rows[row_key] = Row(row_key, 1, None, False)
            widths = [max(w, cell_len(t)) for w, t in zip(widths, text, strict=False)]
            if fresh and placed is not None:
                placed[1].append(row)
                placed[2].append((row_key, 0))
        if fresh and placed is not None:
            self._placed = ((self.row_count, self._layout), placed[1], placed[2])
        self.widen(widths)
        self._require_update_dimensions = True  # the table's size, on idle
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.check_idle()

    def widen(self, widths: Sequence[int]) -> None:
        """Make the columns at least WIDTHS wide (their text's, in cells)."""
        columns = self.ordered_columns
        if any(w > column.content_width for w, column in zip(widths, columns, strict=False)):
            for w, column in zip(widths, columns, strict=False):
                column.content_width = max(w, column.content_width)
            self._update_count += 1  # every row is drawn anew at the new widths
            self.refresh()

    def keys(self) -> list[str]:
        """The row keys in their order on screen (every row here is added with its run id as its key)."""
        return [key for row in self.ordered_rows if (key := row.key.value) is not None]

    def remove_rows(self, keys: Collection[str]) -> None:
        """Remove these rows (those that are shown) in one pass."""
        gone = {k for k in keys if k in self.rows}
        if not gone:
            return
        kept = [row.key for row in self.ordered_rows if row.key.value not in gone]
        self._row_locations = TwoWayDict({key: i for i, key in enumerate(kept)})
        for key in gone:
            row_key = RowKey(key)  # a RowKey finds the same entries as its str
            for column_key in self._data.get(row_key, {}):
                self._updated_cells.discard(CellKey(row_key, column_key))
            del self.rows[row_key]
            del self._data[row_key]
        self._moved()

    def reorder(self, order: Sequence[str]) -> None:
        """Put the rows in ORDER (the keys of every row shown, each once)."""
        by_value = {key.value: key for key in self.rows}
        self._row_locations = TwoWayDict({by_value[k]: i for i, k in enumerate(order)})
        self._moved()

    def _moved(self) -> None:
        self._layout += 1
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)

    def set_row(self, key: str, cells: Sequence[Any], plain: Sequence[str], before: Sequence[str]) -> None:
        """Update the cells of row KEY whose text changed (PLAIN now, BEFORE as shown)."""
        for column, cell, text, old in zip(self.ordered_columns, cells, plain, before, strict=False):
            if text != old:
                self.update_cell(key, column.key, cell, update_width=cell_len(text) > column.content_width)

    async def sync(self, order: Sequence[str], row: Callable[[str], tuple[tuple, tuple[str, ...]]],
                   changed: Collection[str], plain: dict[str, tuple[str, ...]],
                   stop: Callable[[], bool] = lambda: False) -> bool:
        """Make the rows those of ORDER (ROW: a key's cells and their text), in that order: gone rows
        removed, rows in CHANGED updated (PLAIN holds the text each row shows, kept up to date here),
        new rows added a chunk at a time (True once done; False if STOP said so between two chunks)."""
        wanted = set(order)
        gone = [k for k in plain if k not in wanted]
        self.remove_rows(gone)
        for k in gone:
            del plain[k]
        for k in changed:
            if k in plain:
                cells, text = row(k)
                self.set_row(k, cells, text, plain[k])
                plain[k] = text
        new = [k for k in order if k not in plain]
        if len(new) > CHUNK:
            with no_gc_pauses():
                if not await self._append(new, row, plain, stop):
                    return False
        else:
            rows = [(k, *row(k)) for k in new]
            self.append_rows(rows)
            plain.update((k, text) for k, _, text in rows)
        if self.keys() != list(order):
            self.reorder(order)
        return True

    async def _append(self, new: Sequence[str], row: Callable[[str], tuple[tuple, tuple[str, ...]]],
                      plain: dict[str, tuple[str, ...]], stop: Callable[[], bool]) -> bool:
        """Many new rows, a chunk at a time (False if STOP said so between two); the columns made as
        wide as they will be at once (not wider, and every row drawn again, at each chunk)."""
        self.widen([max(map(len if "".join(column).isascii() else cell_len, column))
                    for column in zip(*(row(k)[1] for k in new), strict=False)])
        for start in range(0, len(new), CHUNK):
            rows = [(k, *row(k)) for k in new[start:start + CHUNK]]
            self.append_rows(rows)
            plain.update((k, text) for k, _, text in rows)
            await asyncio.sleep(0.01)  # let the table measure, the screen draw and keys be answered
            if stop():
                return False
        return True
