"""A run's tags and note: ``notes.json`` in its run folder, the researcher's own words about it.

``{"tags": ["best", "paper-fig2"], "note": "lr too high?"}``, written atomically (``glo.host.atomic``:
temp file and ``os.replace``), so a reader sees the old file or the new one. Nothing else in glo
writes it: ``--resume`` and sweeps (local or on a cluster, ``glo.sweep.mirror``) leave it as it is.
The runs folder's index (``glo.store.index``) keeps both, so ``--where tag=best`` needs no folder read.

A tag is a word: letters, digits and ``. _ - + : /``, at most 64 characters, no spaces; a note is
text of at most ``MAX_NOTE`` characters. Bad input raises ``NotesError`` before anything is written.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from glo.errors import GloError
from glo.host import atomic

NOTES = "notes.json"
MAX_NOTE = 4000  # characters: a paragraph or two; a megabyte of text is a mistake, not a note
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+:/-]{0,63}$")


class NotesError(GloError):
    """A tag or note that cannot be stored; the message says what is allowed."""


def check_tag(tag: str) -> str:
    if not tag.strip():
        raise NotesError("a tag cannot be empty")
    if TAG_RE.match(tag) is None:
        raise NotesError(f"bad tag {tag!r}: one word of letters, digits and . _ - + : / (at most 64 characters, "
                         "no spaces, starting with a letter or digit)")
    return tag


def check_note(note: str) -> str:
    if len(note) > MAX_NOTE:
        raise NotesError(f"a note holds at most {MAX_NOTE} characters; this one has {len(note)}")
    if "\x00" in note:
        raise NotesError("a note cannot hold NUL characters")
    return note.strip()


def parse(text: str) -> tuple[tuple[str, ...], str]:
    """(tags, note) from notes.json's text; what is not as glo writes it is left out."""
    try:
        data = json.loads(text)
    except ValueError:
        return (), ""
    if not isinstance(data, dict):
        return (), ""
    tags = data.get("tags")
    note = data.get("note")
    tags = tuple(t for t in tags if isinstance(t, str) and TAG_RE.match(t)) if isinstance(tags, list) else ()
    return tags, note if isinstance(note, str) else ""


def read(path: str) -> tuple[tuple[str, ...], str]:
    """(tags, note) of the run folder at PATH; ((), '') where it has none or the file is unreadable."""
    try:
        return parse(atomic.read_text(f"{path}/{NOTES}"))
    except OSError:
        return (), ""


def write(path: str, tags: tuple[str, ...] | list[str], note: str) -> None:
    """Replace the run folder's notes.json (removed when there are neither tags nor a note)."""
    data: dict[str, Any] = {"tags": list(tags), "note": note}
    target = f"{path}/{NOTES}"
    if not tags and not note:
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        return
    atomic.write_json(target, data)


def tag(path: str, add: list[str], remove: bool = False) -> tuple[str, ...]:
    """Add the tags ADD to the run folder at PATH (or, with REMOVE, take them away); its new tags."""
    for t in add:
        check_tag(t)
    tags, note = read(path)
    if remove:
        new = tuple(t for t in tags if t not in add)
    else:
        new = tags + tuple(dict.fromkeys(t for t in add if t not in tags))
    if new != tags:
        write(path, new, note)
    return new


def set_note(path: str, note: str) -> str:
    """Set (an empty NOTE: clear) the run folder's note; the note stored."""
    note = check_note(note)
    tags, _ = read(path)
    write(path, tags, note)
    return note
