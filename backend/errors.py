"""The errors services raise. Each carries one message a person can act on."""


class StudioError(Exception):
    """Base class: the message is shown as it is, in the CLI and in the UI."""


class NotFoundError(StudioError):
    pass


class ConflictError(StudioError):
    pass


class ValidationError(StudioError):
    """Bad input: names where (file, field), what was wrong and what is allowed."""


class UnavailableError(StudioError):
    """A part Studio depends on (database, port, server) cannot be reached or used."""
