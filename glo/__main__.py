"""``python -m glo``: the glo command (guarded: a sweep's worker processes import this module)."""

from glo.cli.app import entry

if __name__ == "__main__":
    entry()
