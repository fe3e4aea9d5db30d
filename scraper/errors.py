from settings.errors import UserError


class ScrapeError(UserError, RuntimeError):
    """The search or download cannot go on; the message says why in one line."""


class Rejected(Exception):
    """One candidate is not kept; `kind` is its counting category, the message one line."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class FetchError(ScrapeError):
    """A download failed; `kind` is a short category for counting (e.g. "HTTP 404")."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
