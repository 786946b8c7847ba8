"""What the listings, comparisons and reports know about one run: read once, tolerant of damage.

A ``RunView`` holds a run folder as read at one moment: its status, settings, epoch records, last
record, summary, live changes, what it ran with and where (``environment``: one record per start or
resume, ``glo.store.provenance``), warnings about damaged files, and the final numbers (noise-free
recon losses and PSNR from the last epoch; the class-from-content probe and the held-out fit from
``analysis.json``). Its labels are plain strings; how they are styled is ``glo.view``'s business.
Reading never imports torch or numpy.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from glo.config import RunConfig
from glo.errors import RunStoreError
from glo.store import notes, provenance
from glo.store.analyses import read_analysis
from glo.store.runs import Run

# the settings every listing, table and export shows, in this order
SHOWN_SETTINGS = ("dataset", "n_images", "sigma", "decay", "loss", "combine", "epochs", "batch_size", "lr_generator",
            "lr_latent", "seed", "device", "class_dim", "content_dim", "width", "noise", "init", "precision")
RECON_KEYS = ("recon_l1", "recon_l2", "recon_loss", "psnr")  # from the last epoch record
ANALYSIS_KEYS = ("probe_accuracy", "heldout_loss", "heldout_psnr")  # from analysis.json
NUMBER_KEYS = RECON_KEYS + ANALYSIS_KEYS


def fmt_setting(value: Any) -> str:
    """A setting's value as shown: floats as %g (0.3, 1e-05), None as '-'."""
    return f"{value:g}" if isinstance(value, float) else "-" if value is None else str(value)


def run_label(run: Run) -> str:
    """A short name for a run in legends: its --name (a sweep point's settings) or its id."""
    name = run.id[len("YYYYmmdd-HHMMSS-"):]
    return name or run.id


def sweep_resume(sweep_id: str, ray_address: str | None = None, headless: bool = True) -> str:
    """The command that goes on with a sweep (on the Ray cluster at RAY_ADDRESS, where it ran on one)."""
    return (f"glo sweep --resume {sweep_id}{f' --ray {ray_address}' if ray_address else ''}"
            f"{' --headless' if headless else ''}")


class RunView:
    """One run folder, read once: what every report of it needs (``label``: its name in legends).

    ``with_analysis=False`` skips analysis.json (the probe and held-out numbers stay None): listings
    do not show them, and checking a stale cache can mean hashing the whole checkpoint.
    """

    def __init__(self, run: Run, label: str | None = None, with_analysis: bool = True) -> None:
        self.run = run
        self.label = label or run_label(run)
        summary = run.read_summary()  # read once: the status and the summary come from it
        self.status = run.status(summary)
        try:
            self.config: RunConfig | None = run.read_config()
        except RunStoreError:
            self.config = None
        records = run.read_metrics()
        self.epochs = run.epochs(records)
        self.summary = summary or {}
        self.last = self.epochs[-1] if self.epochs else {}
        self.changes = [r for r in records if r.get("event") == "change"]
        self.thread_changes = [r for r in records if r.get("event") == "threads"]  # by the thread policy
        # what it ran with and where, one record per start or resume ([]: a run from before glo kept them)
        self.environment, environment_warnings = provenance.read_records(run.path)
        self.analysis = (read_analysis(run) or {}) if with_analysis else {}
        self.warnings = run.warnings + environment_warnings
        # {}: unknown (a shallow copy: every setting is a plain value, and asdict's deep copy is slow)
        self.settings: dict[str, Any] = ({f.name: getattr(self.config, f.name) for f in fields(self.config)}
                                         if self.config is not None else {})
        self.numbers = self._numbers()
        self.tags, self.note = notes.read(str(run.path))  # notes.json: the researcher's tags and note

    @property
    def epochs_done(self) -> int:
        return len(self.epochs)

    @property
    def sweep_id(self) -> str | None:
        """The id of the sweep the run belongs to (its config says), if any."""
        return self.settings.get("sweep")

    @property
    def resume_command(self) -> str:
        """How to go on with the run: a sweep's point through its sweep (with --ray where the sweep ran
        on a Ray cluster: its address, as its points recorded it), any other run by itself."""
        if not self.sweep_id:
            return f"glo run --resume {self.run.id} --headless"
        on_ray = [r for r in self.environment if r.get("ray_node")]
        address = next((r["ray_address"] for r in reversed(on_ray) if r.get("ray_address")), "ADDRESS")
        return sweep_resume(self.sweep_id, address if on_ray else None)

    @property
    def elapsed_s(self) -> float | None:
        return self.last.get("elapsed_s")

    def _numbers(self) -> dict[str, float | None]:
        """The final numbers (``NUMBER_KEYS``); None where not recorded or not analyzed yet."""
        heldout = self.analysis.get("heldout") or {}
        numbers = {key: self.last.get(key) for key in RECON_KEYS}
        numbers["probe_accuracy"] = self.analysis.get("probe_accuracy")
        numbers["heldout_loss"] = heldout.get("recon_loss")
        numbers["heldout_psnr"] = heldout.get("psnr")
        return numbers

    @property
    def changes_label(self) -> str:
        """Live changes made while training, e.g. 'sigma 0.3->0.9 @14'."""
        return ", ".join(f"{c.get('param')} {fmt_setting(c.get('old'))}->{fmt_setting(c.get('new'))} @{c.get('epoch')}"
                         for c in self.changes) or "-"

    @property
    def threads_label(self) -> str:
        """Thread count changes made while training, e.g. '2->4 @3 (step 150)'."""
        return ", ".join(f"{fmt_setting(c.get('old'))}->{fmt_setting(c.get('new'))} @{c.get('epoch')} "
                         f"(step {c.get('step')})" for c in self.thread_changes) or "-"

    @property
    def epochs_label(self) -> str:
        total = self.config.epochs if self.config else "?"
        return f"{len(self.epochs)}/{total}"

    @property
    def settings_label(self) -> str:
        """The settings that differ from the defaults, e.g. 'sigma=0.9 loss=l1'."""
        if self.config is None:
            return "(config missing)"
        diff = self.config.differences()
        return " ".join(f"{k}={fmt_setting(v)}" for k, v in diff.items()) or "defaults"

    @property
    def tags_label(self) -> str:
        """The run's tags, e.g. 'best paper' ('' without tags)."""
        return " ".join(self.tags)

    @property
    def status_label(self) -> str:
        """The status, with '(damaged)' where some file of the run could not be read whole."""
        return self.status + (" (damaged)" if self.warnings and self.status != "damaged" else "")
