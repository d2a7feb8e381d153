"""The path policy: which files a data file may name, and where outputs may be written.

A bundle (or config) is a file people download and share, so nothing in it may make a
tool read or write outside its own directory:

* :func:`data_file` resolves a file named inside a bundle: a relative path, without ``..``,
  inside the bundle's directory after symbolic links are resolved; anything else is an
  error naming the file, the key and the value.
* :func:`file_name` turns a user-given name (a segment, a config, an ONNX layer such as
  ``/layer1/conv1/Conv``) into one file or folder name. Characters a file name cannot hold
  (``/``, ``\\``, control characters, ...) and ``%`` itself are percent-escaped in the
  file name only -- the name in the data never changes -- and :func:`name_of_file`
  reverses it. Names that cannot be a file name at all (empty, ``.``, ``..``, holding NUL)
  are errors.
* :class:`OutputDir` is the one way outputs are written: plain file names inside one
  folder, each written to a temporary name and renamed (never through a symbolic link,
  never half-written), never twice in one run, and never over a protected input file.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import VTAError, shown

#: Longest file name (bytes, UTF-8) most file systems accept.
NAME_MAX = 255

# Kept as they are in file names; everything else is %XX-escaped (UTF-8 bytes). Letters
# outside ASCII are kept: they are valid file names everywhere that matters.
_KEEP = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                  "._-+=,@~#$&!'()[]{}; ")


def name_problem(name):
    """Why ``name`` cannot name a file or folder (even escaped), or None."""
    if not isinstance(name, str):
        return "must be a string"
    if not name:
        return "must not be empty"
    if name in (".", ".."):
        return f"'{name}' cannot be a file or folder name (it would leave the directory)"
    if "\0" in name:
        return "must not contain a NUL character"
    return None


def _escape_char(c):
    if c in _KEEP or (ord(c) > 0x7f and c.isprintable()):
        return c
    return "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))


def file_name(name, suffix="", *, what="name", error=VTAError):
    """The file (or folder) name for a user-given ``name``, plus ``suffix``.

    Reversible (:func:`name_of_file`), one path component, never ``.`` or ``..``; a name
    that cannot be made one (see :func:`name_problem`) or is too long raises ``error``.
    """
    why = name_problem(name)
    if why:
        raise error(f"{what} {shown(name)} {why}")
    escaped = "".join(_escape_char(c) for c in name) + suffix
    if len(escaped.encode("utf-8", "surrogatepass")) > NAME_MAX:
        raise error(f"{what} {shown(name)} is too long for a file name ({NAME_MAX} bytes "
                    "at most once '/', '%' and control characters are escaped)")
    return escaped


def name_of_file(fname, suffix=""):
    """The name :func:`file_name` escaped into ``fname`` (with ``suffix`` removed)."""
    from urllib.parse import unquote
    if suffix:
        fname = fname.removesuffix(suffix)
    return unquote(fname, errors="surrogatepass")


def data_file(root, value, *, where, key="file", error=VTAError):
    """The resolved path of a file named by ``key: value`` in a data file in ``root``.

    ``value`` must be a relative path without ``..`` that stays inside ``root`` after
    symbolic links are resolved; otherwise ``error`` names ``where``, the key and the value.
    """
    def bad(why):
        return error(f"{where}: '{key}' = {shown(value)} {why}")
    if not isinstance(value, str) or not value:
        raise bad("must be a file name (a non-empty string)")
    if "\0" in value:
        raise bad("must not contain a NUL character")
    posix = PurePosixPath(value)
    if posix.is_absolute() or value.startswith("\\") or PureWindowsPath(value).drive:
        raise bad(f"must be a path relative to the directory {root}, not an absolute one")
    if ".." in posix.parts or ".." in PureWindowsPath(value).parts:
        raise bad(f"must not contain '..' (files are read only inside {root})")
    base = Path(root).resolve()
    full = (base / posix).resolve()
    if full == base or not full.is_relative_to(base):
        raise bad(f"resolves to {full}, outside the directory {base} "
                  "(a symbolic link pointing out of it)")
    return full


class OutputDir:
    """Writes files into one folder and nowhere else.

    ``protect``: paths that must not be overwritten (e.g. the files of a bundle when
    ``--out`` names the bundle itself). ``error``: the VTAError subclass raised.
    """

    def __init__(self, root, *, protect=(), error=VTAError):
        self.root = Path(root)
        self.error = error
        self.protect = {Path(p).resolve() for p in protect}
        self.written = set()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise error(f"{self.root}: cannot create the output folder: {e.strerror}") from None
        if not self.root.is_dir():
            raise error(f"{self.root}: is not a folder")
        self._real = self.root.resolve()

    def path(self, fname):
        """The path ``fname`` (one plain file name) will have, after the checks."""
        if (not isinstance(fname, str) or fname in ("", ".", "..") or "\0" in fname
                or "/" in fname or os.sep in fname or (os.altsep and os.altsep in fname)):
            raise self.error(f"{self.root}: refusing to write {shown(fname)}: "
                             "not a plain file name inside the output folder")
        target = self._real / fname
        if target in self.written:
            raise self.error(f"{self.root / fname}: would be written twice in one run "
                             "(two names give the same file name)")
        if target in self.protect:
            raise self.error(f"{self.root / fname}: refusing to overwrite an input file "
                             "(the output folder holds the input bundle; choose another folder)")
        return target

    def write_bytes(self, fname, data):
        target = self.path(fname)
        # A temporary name, then a rename: an interrupted write leaves no half file, and an
        # existing symbolic link at the target is replaced, never written through.
        tmp = self._real / f".{fname[:64]}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as e:
            raise self.error(f"{self.root / fname}: cannot write: {e.strerror or e}") from None
        self.written.add(target)
        return self.root / fname

    def write_text(self, fname, text):
        return self.write_bytes(fname, text.encode("utf-8"))
