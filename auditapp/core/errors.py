"""One family of errors for refused changes: the field it concerns, a message for people, a status.

Domains raise these; ``web.errors`` answers every one that a view lets through with its ``status``,
once for the whole app. Views that show the message beside a form catch ``RuleError`` (and its
``Conflict``) and answer with ``err.status``; ``NotAllowed`` is never shown inside a form, so it
is not a ``RuleError``: it always reaches the factory's 403 page.
"""

from __future__ import annotations


class Refused(Exception):
    """A change the rules refuse; the root of the family, mapped to ``status`` in one place."""

    status = 400

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class RuleError(Refused):
    """A rule refused the change; `field` says which form field the message belongs beside."""

    status = 422


class Conflict(RuleError):
    """The record's current state refuses the change: it moved on, or it is closed."""

    status = 409


class RecordClosed(Conflict):
    """The record is completed or closed and read-only until someone reopens it."""

    def __init__(self, message: str = "This record is closed and read-only.", field: str = "_form"):
        super().__init__(field, message)


class NotAllowed(Refused):
    """The user's role, or their relation to the record, does not allow this."""

    status = 403

    def __init__(self, message: str = "Your role does not allow this.", field: str = "_form"):
        super().__init__(field, message)


class ServerBusy(Refused):
    """The server cannot take the change right now; the client sends it again after ``retry_after`` seconds."""

    status = 503

    def __init__(self, message: str, retry_after: int = 10, field: str = "_form"):
        super().__init__(field, message)
        self.retry_after = retry_after
