"""The run store: run folders (runs), the one read model of a run (runview), the runs folder's index
(index, indexdb, stamps), finding runs (query), what a run ran with (provenance) and the
analysis.json cache (analyses). No torch.
"""
