class ScrapeError(RuntimeError):
    """The search or download cannot go on; the message says why in one line."""
