"""The error a picture that cannot be made raises."""


class ReportError(ValueError):
    """A picture cannot be made from what was given (the reason is the message)."""
