"""Every error a user can meet, each naming the place that is wrong.

    AdaptkitError            where: message   (the CLI prints it, exit 2)
    ├── SpecError            a key of the pipeline spec is wrong
    ├── DataError            a data file or folder is missing, empty or corrupt
    ├── ModelError           a model or weights file does not load or fit
    ├── PluginError          a plugin failed to load or to answer a hook
    └── TrainingError        training diverged (a NaN or infinite loss)   (exit 3)

``where`` is a dotted spec path (``source.weights``) or a file path.
"""

from __future__ import annotations

__all__ = ["AdaptkitError", "SpecError", "DataError", "ModelError", "PluginError", "TrainingError"]


class AdaptkitError(Exception):
    """Base of adaptkit's errors: ``where`` names the place, ``message`` says what is wrong."""

    def __init__(self, where: str, message: str):
        self.where = where
        self.message = " ".join(str(message).split())  # one line, always
        super().__init__(f"{where}: {self.message}" if where else self.message)


class SpecError(AdaptkitError):
    """A pipeline spec is invalid."""


class DataError(AdaptkitError):
    """Data is missing, empty or corrupt."""


class ModelError(AdaptkitError):
    """A model or weights file cannot be loaded or does not match."""


class PluginError(AdaptkitError):
    """A plugin is broken or did not answer."""


class TrainingError(AdaptkitError):
    """Training failed on valid input: the loss became NaN or infinite."""

    exit_code = 3
