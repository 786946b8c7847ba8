"""Sweeps: the grid and the manifest (manifest), points one after another (run), the one driver for
points side by side and what it needs of a back end (driver), its back ends: worker processes here
(local), or Ray tasks on a cluster (cluster, mirror).
"""
