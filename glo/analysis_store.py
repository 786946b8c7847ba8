"""Reading a run's cached analysis (analysis.json) without torch. PLACEHOLDER until merged."""

from __future__ import annotations


def read_analysis(run):
    return None
