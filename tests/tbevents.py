"""A small reader of TensorBoard event files for the tests: TFRecord framing (length, masked CRC-32C
of the length, data, masked CRC-32C of the data) checked record by record, each record parsed as a
``tensorflow.Event`` protobuf with tensorboardX's own copy of TensorBoard's .proto files. No
``tensorboard`` package needed (about 150 MB); the CRCs make it as strict as TensorBoard's reader."""

from __future__ import annotations

import struct
from pathlib import Path

from tensorboardX.crc32c import crc32c
from tensorboardX.proto.event_pb2 import Event
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData


def _masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(path: Path) -> list[Event]:
    data, out, at = Path(path).read_bytes(), [], 0
    while at < len(data):
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[at + 8:at + 12])[0] == _masked(header), f"{path}: bad length CRC at {at}"
        body = data[at + 12:at + 12 + length]
        assert len(body) == length, f"{path}: torn record at {at}"
        assert struct.unpack("<I", data[at + 12 + length:at + 16 + length])[0] == _masked(body), f"{path}: bad CRC"
        event = Event()
        event.ParseFromString(body)
        out.append(event)
        at += 16 + length
    return out


def read_run(folder: Path) -> dict:
    """What one TensorBoard run folder holds: {'scalars': {tag: {step: value}}, 'images': {tag: [steps]},
    'texts': [(step, text)], 'hparams': {name: value}, 'files': n}."""
    scalars: dict = {}
    images: dict = {}
    texts, hparams = [], {}
    files = sorted(Path(folder).glob("events.out.tfevents.*"))
    for f in files:
        for ev in read_events(f):
            for v in ev.summary.value:
                kind = v.WhichOneof("value")
                plugin = v.metadata.plugin_data.plugin_name
                if kind == "simple_value":
                    scalars.setdefault(v.tag, {})[ev.step] = v.simple_value
                elif kind == "image":
                    images.setdefault(v.tag, []).append((ev.step, v.image.width, v.image.height))
                elif plugin == "hparams":
                    data = HParamsPluginData()
                    data.ParseFromString(v.metadata.plugin_data.content)
                    for name, value in data.session_start_info.hparams.items():
                        hparams[name] = getattr(value, value.WhichOneof("kind"))
                elif plugin == "text":
                    texts.append((ev.step, b"".join(v.tensor.string_val).decode()))
    return {"scalars": scalars, "images": images, "texts": texts, "hparams": hparams, "files": len(files)}
