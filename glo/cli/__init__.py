"""The ``glo`` command line (typer and rich live here, never in the core)."""
