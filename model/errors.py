from settings.errors import UserError


class ModelError(UserError, RuntimeError):
    """The model cannot be built, trained, loaded or published; one line says why."""
