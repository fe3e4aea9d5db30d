from settings.errors import UserError


class DatasetError(UserError, RuntimeError):
    """A data source is missing or not what it should be; one line says which."""
