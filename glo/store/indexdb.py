"""The index's file: one sqlite table in ``RUNS/.index.sqlite``, a row per run (``glo.store.index``).

Every failure is survivable: a damaged file is deleted and made anew, a file that cannot be opened
or written is done without (nothing is cached), and a writer that waits too long for another gives
up its write. The write-ahead log (WAL) and a busy timeout let several glo processes read and write
it at once; sqlite's transactions keep it whole when one of them is killed.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

INDEX = ".index.sqlite"  # in the runs folder; starts with '.', so never taken for a run (glo.store.runs.ID_RE)
VERSION = 2  # of the rows below (2: tags and note): another version is dropped and rebuilt
LAST_KEYS = ("epoch", "step", "elapsed_s", "train_loss", "recon_loss", "recon_l1", "recon_l2", "psnr")
COLUMNS = "id, stamp, status, done, total, label, warnings, settings, tags, note, " + ", ".join(LAST_KEYS)
SCHEMA = ("CREATE TABLE runs (id TEXT PRIMARY KEY, stamp TEXT NOT NULL, status TEXT, done INTEGER, total INTEGER, "
          "label TEXT, warnings TEXT, settings TEXT, tags TEXT, note TEXT, "
          + ", ".join(LAST_KEYS) + ")")  # the last epoch's numbers: no type, kept as they are


class IndexFile:
    """The sqlite file. Every failure is survivable: a damaged file is deleted and made anew, and a
    file that cannot be opened or written is done without (``conn`` None: nothing is cached)."""

    def __init__(self, root: Path) -> None:
        self.path = root / INDEX
        self.conn: sqlite3.Connection | None = None
        self.broken = False  # gave up on it for this process

    def open(self) -> sqlite3.Connection | None:
        if self.conn is None and not self.broken:
            for attempt in range(2):
                try:
                    self.conn = self._connect()
                    break
                except sqlite3.DatabaseError as exc:
                    self.close()
                    if attempt or not _damaged(exc):
                        self.broken = True
                        break
                    self.remove()
        return self.conn

    def _connect(self) -> sqlite3.Connection:
        if not _writable(self.path):  # opening it would leave -wal and -shm files beside it: done without
            raise sqlite3.OperationalError(f"{self.path} is read-only")
        conn = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        try:
            try:  # readers and a writer at once; a network file system may refuse: then a rollback journal
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:
                pass
            conn.execute("PRAGMA synchronous = NORMAL")  # derived data: a write lost in a crash is only redone
            if not self._current(conn):  # new, or made by another version of glo: made anew
                conn.execute("BEGIN IMMEDIATE")
                if not self._current(conn):
                    conn.execute("DROP TABLE IF EXISTS runs")
                    conn.execute(SCHEMA)
                    conn.execute(f"PRAGMA user_version = {VERSION}")
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _current(conn: sqlite3.Connection) -> bool:
        table = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone()
        return table is not None and table[0] == SCHEMA and conn.execute("PRAGMA user_version").fetchone()[0] == VERSION

    def rows(self) -> list[tuple[Any, ...]]:
        """Every row (none if the file cannot be read; a damaged one is made anew)."""
        for attempt in range(2):
            conn = self.open()
            if conn is None:
                return []
            try:
                return conn.execute(f"SELECT {COLUMNS} FROM runs").fetchall()
            except sqlite3.DatabaseError as exc:
                self.close()
                if attempt or not _damaged(exc):
                    return []
                self.remove()
        return []

    def save(self, rows: Iterable[tuple[Any, ...]], removed: Iterable[str]) -> None:
        rows, removed = list(rows), list(removed)
        conn = self.open() if rows or removed else None
        if conn is None:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            marks = ", ".join("?" * len(COLUMNS.split(",")))
            conn.executemany(f"INSERT OR REPLACE INTO runs ({COLUMNS}) VALUES ({marks})", rows)
            conn.executemany("DELETE FROM runs WHERE id = ?", [(r,) for r in removed])
            conn.execute("COMMIT")
        except sqlite3.Error:  # locked for too long, read-only, disk full: the folders are still the truth
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def remove(self) -> None:
        """Delete the file (and its write-ahead log): it is rebuilt from the folders."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
        self.conn = None


def _writable(path: Path) -> bool:
    """False for an index file this user may not write, or marked read-only (no owner write bit,
    which root's processes would otherwise ignore); True when there is none yet."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return os.access(path, os.W_OK) and bool(st.st_mode & stat.S_IWUSR)


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """True for errors that say the file itself is bad (not: locked, read-only, closed, no folder)."""
    text = str(exc).lower()
    return type(exc) is sqlite3.DatabaseError or "malformed" in text or "not a database" in text


def read_statuses(root: Path) -> dict[str, str]:
    """Each indexed run's recorded status, straight from the index file (for shell completion: no
    folder is read, nothing is written; empty if there is no index)."""
    path = root / INDEX
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return dict(conn.execute("SELECT id, status FROM runs").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
