"""Exceptions. Anything deriving from :class:`HourlensError` is a user-facing error:
the CLI prints its message on one line, without a traceback."""

from __future__ import annotations


class HourlensError(Exception):
    """Base class of errors whose message is meant for the user."""


class BadVideoError(HourlensError):
    """A file that cannot be indexed as a video (not a video, corrupt, no frames...)."""


class NotIndexedError(HourlensError):
    """A video was named that the library does not hold (or holds unfinished)."""


class MissingDependencyError(HourlensError):
    """An optional package is needed for the requested feature."""

    def __init__(self, package: str, extra: str | None = None, purpose: str = "") -> None:
        hint = f'pip install "hourlens[{extra}]"' if extra else f"pip install {package}"
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"{package} is required{what}: {hint}")
        self.package = package
        self.extra = extra


class ModelLoadError(HourlensError):
    """A model named by id or path could not be loaded."""


class UnknownToolError(HourlensError, LookupError):
    """A memory tool was named that the registry does not hold (the message lists them)."""


class ToolArgumentError(HourlensError, ValueError):
    """A memory tool was called with an unknown, missing or ill-typed argument."""
