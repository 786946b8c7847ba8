"""The view floor: what runs, comparisons, images and loss curves look like, shared by the CLI
(``glo.cli``), the console (``tui``) and ``scripts/results.py``.

Plain strings and rich renderables (and plotext text) built from the core's data (``glo.store.runview``,
``glo.analysis.compare``, and the arrays of ``glo.analysis.figures`` that front ends pass in); never textual, typer or
a front end. ``format``: numbers, settings, times and status styles; ``images``: digits as half
blocks or ASCII, and their rows; ``tables``: runs, a run's details, analyses; ``numbers``: the
comparison's tables of final numbers; ``plots``: loss curves.
"""
