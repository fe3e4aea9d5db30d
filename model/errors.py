class ModelError(RuntimeError):
    """The model cannot be built, trained, loaded or published; one line says why."""
