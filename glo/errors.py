"""Error types that the CLI and the console turn into one-line messages."""


class GloError(Exception):
    """Base class for errors that carry a message meant for the user."""


class ConfigError(GloError, ValueError):
    """A setting is invalid; the message says what was wrong and what is allowed."""


class DataError(GloError):
    """A data set could not be found or read."""


class RunStoreError(GloError):
    """A run folder is missing, damaged, or cannot be written."""
