"""Errors we raise on purpose. The CLI turns them into one line and an exit code, the app into ``gr.Error``."""


class ToxicError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""


class DataError(ToxicError):
    """Training or evaluation data is missing, malformed or does not match its manifest."""


class ModelError(ToxicError):
    """A model directory or Hub repo cannot be loaded."""


class InputError(ToxicError):
    """A text, file or column given by the user cannot be scored."""


class LogError(ToxicError):
    """The prediction log cannot be opened, written or read (bad URI, credentials, not our log, corrupted)."""


class DriftError(ToxicError):
    """A drift report cannot be computed (empty or too small window, no reference profile)."""


class LimitError(InputError):
    """A request is over one of the app's limits (docs/limits.md): refused before any work is done."""


class UploadError(InputError):
    """A file that did not come through the app's upload: refused without reading it."""
