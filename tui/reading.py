"""Reading files for a screen off the UI thread: one read at a time, in a thread worker.

The saved-runs list and the comparison read run folders (metrics, summaries, analyses, images)
with ``Reads``; the UI thread only draws what a read posted back.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerCancelled, WorkerFailed


class Reads:
    """Reads for NODE in a thread worker (GROUP), one at a time: READ's result, a message, is posted
    to NODE. A read asked for while one runs follows it (call ``done`` once a read is shown), so
    reads never pile up and the last one shown is the newest."""

    def __init__(self, node: DOMNode, read: Callable[[], Message], group: str) -> None:
        self.node, self.read, self.group = node, read, group
        self.busy = False  # a read is under way (cleared by the worker before it posts its result)
        self.again = False

    def request(self, post: bool = True) -> Worker | None:
        """Start a read (returned), or note that another follows the one under way (None). POST:
        the result goes to NODE as a message (else it is only the worker's result)."""
        if self.busy:
            self.again = True
            return None
        self.again, self.busy = False, True
        return self.node.run_worker(lambda: self._read(post), thread=True, exclusive=True, group=self.group,
                                    exit_on_error=False)

    def _read(self, post: bool) -> Message:
        try:
            result = self.read()
        finally:
            self.busy = False
        if post:
            self.node.post_message(result)
        return result

    def done(self) -> None:
        if self.again:
            self.request()

    async def first(self):
        """Start a read and wait for its result (None if it failed), to be shown by the caller: a
        screen opens already filled, its UI thread free while the worker reads."""
        worker = self.request(post=False)
        try:
            return None if worker is None else await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            return None
