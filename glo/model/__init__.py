"""The model: codes and generator (nets), reconstruction losses and noise-free evaluation (losses),
and the checkpoint that rebuilds a model from its own settings (checkpoint).
"""
