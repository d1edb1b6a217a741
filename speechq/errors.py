"""One error family for everything speechq refuses.

Every message names the culprit (a file, an input, a parameter), says what was expected and what arrived.
The CLI prints ``str(error)`` on one line and exits non-zero; the API raises these.
"""

from __future__ import annotations

__all__ = [
    "SpeechqError",
    "ConfigError",
    "DataError",
    "ModelError",
    "OutputError",
]


class SpeechqError(Exception):
    """Base of every error speechq raises on purpose."""


class ConfigError(SpeechqError, ValueError):
    """An algorithm, engine or CLI parameter is unknown, of the wrong type, or out of range."""


class DataError(SpeechqError):
    """An audio file, transcript, manifest or data item cannot be used."""


class ModelError(SpeechqError):
    """A model file is missing or unreadable, or its inputs/outputs do not fit what is asked of it."""


class OutputError(SpeechqError):
    """An output location cannot be written, or writing it would overwrite something."""
