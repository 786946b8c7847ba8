"""Sweeps: the grid and the manifest (manifest), points one after another (run), the one driver for
points side by side (driver) with its back ends: worker processes here, or Ray tasks on a cluster
(cluster, mirror).
"""
