"""What a trained run shows: class-from-content probes (probe), codes fitted to new images, transfer
grids and samples (latent), their combination cached as analysis.json (analyze), the transfer grid
as arrays (figures), and comparisons of runs (compare).
"""
