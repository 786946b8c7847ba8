"""Error types that the CLI and the console turn into one-line messages."""

from __future__ import annotations


class GloError(Exception):
    """Refused input, or an error whose message is meant for the user: the CLI prints it in one line
    on stderr and exits 2; the console shows it."""


class ConfigError(GloError, ValueError):
    """A setting is invalid; the message says what was wrong and what is allowed, ``key`` which
    setting it is about (None: no one setting)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class DataError(GloError):
    """A data set could not be found or read."""


class RunStoreError(GloError):
    """A run folder is missing, damaged, or cannot be written."""


WAITED = 75  # exit code of a sweep that gave up waiting for a node (--wait; EX_TEMPFAIL: try again when there is room)
