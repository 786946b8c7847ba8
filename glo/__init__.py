"""glo: a terminal experiment console for Generative Latent Optimization.

Importing this package is cheap: torch is only imported by the modules that need it.
"""

__version__ = "0.1.0"
