"""Error types shared by every part of vta-cosim.

Each error carries enough context (file, key or field, value, rule) to be printed
to a user as one line without a traceback.
"""


class VTAError(Exception):
    """Base class of every user-facing error."""


class ConfigError(VTAError):
    """An invalid hardware config: names the file, key, value and broken rule."""

    def __init__(self, message, *, path=None, key=None, value=None):
        self.path, self.key, self.value = path, key, value
        where = f"{path}: " if path else ""
        what = f"key '{key}'" if key else ""
        if key is not None and value is not None:
            what += f" = {value!r}"
        super().__init__(f"{where}{what}{': ' if what else ''}{message}")


class EncodingError(VTAError):
    """A field value that does not fit its bit-field, or an undecodable word."""


class BundleError(VTAError):
    """A malformed program bundle on disk."""
