from settings.errors import UserError


class ScrapeError(UserError, RuntimeError):
    """The search or download cannot go on; the message says why in one line."""
