"""Reading files for a screen off the UI thread: one read at a time, in a thread worker.

The saved-runs list and the comparison read run folders (metrics, summaries, analyses, images)
with ``Reads``; the UI thread only draws what a read posted back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerCancelled, WorkerFailed


@dataclass
class ReadFailed(Message):
    """A read raised: ``error`` is one line saying why (the screen shows it; the next read may work)."""

    group: str
    error: str


class Reads:
    """Reads for NODE in a thread worker (GROUP), one at a time: READ's result, a message, is posted
    to NODE (a ``ReadFailed`` if it raised). A read asked for while one runs follows it; results
    are handed over on the UI thread, newest request last, and a result made stale by a ``fresh``
    request (the folder changed under it: a run deleted) is dropped, never shown."""

    def __init__(self, node: DOMNode, read: Callable[[], Message], group: str) -> None:
        self.node, self.read, self.group = node, read, group
        self.busy = False  # a read is under way (cleared on the UI thread when its result is handed over)
        self.again = False  # another read follows the one under way
        self.seq = 0  # the newest read's number: older results are dropped

    def request(self, post: bool = True, fresh: bool = False) -> Worker | None:
        """Start a read (returned), or note that another follows the one under way (None). FRESH: the
        read under way is stale, drop its result. POST: the result goes to NODE as a message (else
        it is only the worker's result, for ``first``)."""
        if fresh:
            self.seq += 1
        if self.busy:
            self.again = True
            return None
        self.again, self.busy = False, True
        self.seq += 1
        seq = self.seq
        return self.node.run_worker(lambda: self._read(seq, post), thread=True, exclusive=True, group=self.group,
                                    exit_on_error=False)

    def _read(self, seq: int, post: bool) -> Message | None:
        """In the worker: read, then hand the result over on the UI thread."""
        try:
            result: Message | None = self.read()
        except Exception as exc:  # noqa: BLE001 - a damaged file must not leave the screen blank and silent
            result = ReadFailed(self.group, f"{type(exc).__name__}: {exc}")
        if post:
            try:
                self.node.app.call_from_thread(self._deliver, seq, result)
            except RuntimeError:  # the app is closing: nothing to show
                pass
        return result

    def _deliver(self, seq: int, result: Message | None) -> None:
        """On the UI thread: post the newest result to NODE, then start the read that was asked for."""
        self.busy = False
        if seq == self.seq and result is not None and self.node.is_attached:
            self.node.post_message(result)
        if self.again and self.node.is_attached:
            self.request()

    async def first(self):
        """Start a read and wait for its result (None if it failed), to be shown by the caller: a
        screen opens already filled, its UI thread free while the worker reads."""
        worker = self.request(post=False)
        try:
            result = None if worker is None else await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            result = None
        self.busy = False
        if isinstance(result, ReadFailed):
            self.node.post_message(result)
            result = None
        if self.again and self.node.is_attached:
            self.request()
        return result
