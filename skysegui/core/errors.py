"""Typed errors a user can cause. Each message says what went wrong and what to do.

The CLI prints them as one line (`error: ...`); the GUI shows them in a message box.
Anything that is not a SkysegError is a bug and keeps its traceback.
"""

from __future__ import annotations


class SkysegError(Exception):
    """Base of every error the user can act on."""


# --- images -------------------------------------------------------------------
class ImageReadError(SkysegError):
    """An image could not be read."""


class UnsupportedFormatError(ImageReadError):
    """The file is not one of the formats we read (or its content is not what its extension says)."""


class CorruptImageError(ImageReadError):
    """The file is damaged or truncated."""


class EmptyImageError(CorruptImageError):
    """The file has zero bytes."""


class ImageTooLargeError(ImageReadError):
    """The image is larger than the program supports."""


class ImageWriteError(SkysegError):
    """An image could not be written."""


class ColorManagementError(SkysegError):
    """OpenColorIO is not installed, or its config or view cannot be used."""


# --- labels -------------------------------------------------------------------
class AnnotationError(SkysegError):
    """A label file cannot be used."""


class UnsafeNameError(AnnotationError):
    """An image name from a label file cannot name an output file (a path, NUL, ...)."""


class EditError(SkysegError):
    """An edit is not allowed (e.g. a polygon would drop below 3 vertices)."""


# --- projects and files ---------------------------------------------------------
class ProjectError(SkysegError):
    """A project folder is missing or not usable."""


class SaveError(SkysegError):
    """A file could not be written; the previous version is intact."""


# --- models -------------------------------------------------------------------
class ModelError(SkysegError):
    """A model file is missing, corrupt or incompatible."""


class TrainingError(SkysegError):
    """Training cannot start or continue."""


class PredictionError(SkysegError):
    """Prediction cannot run."""


class ExportError(SkysegError):
    """An export cannot be written."""


class CancelledError(SkysegError):
    """Long work was cancelled by the user."""


# --- warnings -----------------------------------------------------------------
class DecoderWarning(UserWarning):
    """Issued by read_image when the decoder complained but still gave a picture (the
    message is ImageInfo.decoder_note); the CLI prints it as a `warning:` line."""
