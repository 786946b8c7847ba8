"""steps.bin: a run's step losses, for consoles and ``glo runs watch`` that attach to it later.

metrics.jsonl keeps one record per epoch; the live chart draws every step's loss. A watcher that
opens a run mid-way reads the steps it missed here. The file is compact and bounded: a 16-byte
header (``GLOSTEP1``, steps per epoch, stride) and 16 bytes per kept step (step, epoch: uint32;
loss, images/s: float32). Every ``stride``-th step is kept; when the file reaches ``MAX_RECORDS``
records it is rewritten (atomically) with every other record and the stride doubles, so a run of
any length keeps at most ``MAX_RECORDS`` records (1 MiB) spread over all of it.

The training process appends (buffered, flushed a few times a second); readers read from the
offset they reached, and start over where the file was rewritten (a new inode, or shorter).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from glo.events import Step
from glo.host import atomic

STEPS = "steps.bin"
MAGIC = b"GLOSTEP1"
HEADER = struct.Struct("<8sII")  # magic, steps per epoch, stride
RECORD = struct.Struct("<IIff")  # step, epoch, loss, images/s
MAX_RECORDS = 1 << 16


def _pack(step: Step) -> bytes:
    return RECORD.pack(step.step, step.epoch, step.loss, step.images_per_s)


class StepLog:
    """The writer: owned by the training process only."""

    def __init__(self, folder: str | os.PathLike[str], steps_per_epoch: int, keep_until: int = 0) -> None:
        """Open FOLDER's steps.bin, dropping steps after KEEP_UNTIL (a resumed run's checkpoint)."""
        self.path = Path(folder) / STEPS
        self.steps_per_epoch = steps_per_epoch
        self.stride, kept = 1, b""
        old = read_steps(self.path)
        if old is not None and old[0] == steps_per_epoch:
            self.stride = old[1]
            kept = b"".join(_pack(s) for s in old[2] if s.step <= keep_until)
        self._write(kept)
        self.count = len(kept) // RECORD.size
        self._buffer: list[bytes] = []

    def _write(self, records: bytes) -> None:
        atomic.write_bytes(self.path, HEADER.pack(MAGIC, self.steps_per_epoch, self.stride) + records)
        self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed by close()

    def add(self, step: Step) -> None:
        if step.step % self.stride == 0:
            self._buffer.append(_pack(step))

    def flush(self) -> None:
        """Append the buffered steps (no fsync: losing the newest steps to a crash costs nothing)."""
        if not self._buffer:
            return
        data, self._buffer = b"".join(self._buffer), []
        self._fh.write(data)
        self.count += len(data) // RECORD.size
        if self.count >= MAX_RECORDS:
            self._halve()

    def _halve(self) -> None:
        self._fh.close()
        with open(self.path, "rb") as fh:
            body = fh.read()[HEADER.size:]
        records = [body[i:i + RECORD.size] for i in range(0, len(body) - RECORD.size + 1, RECORD.size)]
        self.stride *= 2
        kept = [r for r in records if RECORD.unpack(r)[0] % self.stride == 0]
        self._write(b"".join(kept))
        self.count = len(kept)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._fh.close()


def read_steps(path: str | os.PathLike[str], offset: int = 0) -> tuple[int, int, list[Step], int] | None:
    """(steps per epoch, stride, the steps from byte OFFSET on, the offset reached), or None where
    there is no steps.bin or it is not one. OFFSET 0 reads from the first record."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER.size)
            if len(head) < HEADER.size:
                return None
            magic, per_epoch, stride = HEADER.unpack(head)
            if magic != MAGIC or per_epoch < 1:
                return None
            offset = max(offset, HEADER.size)
            fh.seek(offset)
            body = fh.read()
    except OSError:
        return None
    n = len(body) // RECORD.size
    steps = []
    for step, epoch, loss, ips in RECORD.iter_unpack(body[:n * RECORD.size]):
        steps.append(Step(step, epoch, step - (epoch - 1) * per_epoch, loss, ips))
    return per_epoch, stride, steps, offset + n * RECORD.size
