"""Checkpoints: everything needed to rebuild a run's model and resume its training.

Saved with torch.save into bytes and written atomically; loaded with ``weights_only=True`` so a
checkpoint file can never execute code. Only tensors, numbers, strings, lists and dicts go in.
"""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from glo.config import RunConfig
from glo.errors import RunStoreError
from glo.host import atomic
from glo.model.nets import GLO

FORMAT = "glo-checkpoint-1"


def to_bytes(state: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buf)
    return buf.getvalue()


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint without running any code from it; refuse anything else clearly."""
    path = Path(path)
    try:
        if atomic.not_a_file(path):  # a link, FIFO or device: never opened
            raise RunStoreError(f"{path} is not a plain file (a link, FIFO or device); it was not read")
        with warnings.catch_warnings():  # torch's warnings about a foreign file: the refusal below says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError as exc:
        raise RunStoreError(f"no checkpoint at {path}") from exc
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, AttributeError,
            TypeError, KeyError, IndexError, OverflowError, MemoryError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if first.startswith("Weights only load failed"):
            first = "not a checkpoint glo wrote: refused by the weights-only loader, nothing in it was run"
        raise RunStoreError(f"{path} is not a valid glo checkpoint ({first[:160]})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise RunStoreError(f"{path} is not a glo checkpoint (format {FORMAT} expected)")
    return state


def build_model(state: dict[str, Any]) -> tuple[GLO, RunConfig]:
    """Rebuild the model a checkpoint was saved from, with its weights."""
    cfg = RunConfig.from_dict(state["config"])
    model = GLO(**state["model_args"])
    model.load_state_dict(state["model"])
    return model, cfg
