"""Error types shared by every part of vta-cosim.

Each error carries enough context (file, key or field, value, rule) to be printed
to a user as one line without a traceback.
"""
import reprlib

#: Most characters of a user-given value that any message prints.
SHOWN_CHARS = 200

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = _repr.maxlong = SHOWN_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 16
_repr.maxlevel = 4


def shorten(value, limit=SHOWN_CHARS):
    """``value`` as text (``str``), at most about ``limit`` characters: a long name, number
    or string from the input is cut in the middle and says how long it was."""
    s = value if isinstance(value, str) else str(value)
    if len(s) <= limit:
        return s
    half = limit // 2
    return f"{s[:half]}...[{len(s):,} characters]...{s[-(limit - half - 20):]}"


def shown(value, limit=SHOWN_CHARS):
    """``repr(value)`` cut to about ``limit`` characters, for messages.

    Bounded work too: nested and long containers are elided element-wise (reprlib) before
    the text is cut, so a huge value from a crafted file never fills the terminal."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * limit:
        return f"<an integer of {value.bit_length()} bits>"   # its decimal text costs time
    return shorten(_repr.repr(value), limit)


class VTAError(Exception):
    """Base class of every user-facing error."""


class ConfigError(VTAError):
    """An invalid hardware config: names the file, key, value and broken rule."""

    def __init__(self, message, *, path=None, key=None, value=None):
        self.path, self.key, self.value = path, key, value
        where = f"{path}: " if path else ""
        what = f"key '{key}'" if key else ""
        if key is not None and value is not None:
            what += f" = {shown(value)}"
        super().__init__(f"{where}{what}{': ' if what else ''}{message}")


class EncodingError(VTAError):
    """A field value that does not fit its bit-field, or an undecodable word."""


class BundleError(VTAError):
    """A malformed program bundle on disk."""
