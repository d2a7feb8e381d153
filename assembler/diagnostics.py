"""One-line ``file:line:col: message`` diagnostics for every VTAError a CLI can meet.

Assembly errors carry their position. Config errors name a file and a key; the key's
position is found by composing the YAML (or searching the JSON) of that file. Bundle
errors name bundle.yaml and usually quoted items; the most specific one is located.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from vta.isa import BundleError, ConfigError

from .errors import AsmError

def _yaml_key_pos(text, dotted):
    """(line, col) of ``a.b`` in a YAML text, or of its deepest existing parent."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    best = (1, 1)
    for part in dotted.split("."):
        if not isinstance(node, yaml.MappingNode):
            break
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == part:
                best = (k.start_mark.line + 1, k.start_mark.column + 1)
                node = v
                break
        else:
            break
    return best


def _text_pos(text, needle):
    i = text.find(needle)
    if i < 0:
        return None
    line = text.count("\n", 0, i) + 1
    return line, i - (text.rfind("\n", 0, i) + 1) + 1


def locate(err):
    """(file, line, col, message) for an error, or None when it names no file."""
    if isinstance(err, AsmError):
        return err.file, err.line, err.col, err.message
    msg = str(err)
    if isinstance(err, ConfigError) and err.path:
        path = Path(err.path)
        prefix = f"{err.path}: "
        rest = msg[len(prefix):] if msg.startswith(prefix) else msg
        if not path.is_file():
            return None
        text = path.read_text(errors="replace")
        pos = None
        if err.key:
            if path.suffix == ".json":
                pos = _text_pos(text, f'"{err.key}"')
            else:
                pos = _yaml_key_pos(text, err.key)
        line, col = pos or (1, 1)
        return str(path), line, col, rest
    if isinstance(err, BundleError):
        m = re.match(r"(.+?bundle\.yaml): (.*)", msg, re.S)
        if m and Path(m.group(1)).is_file():
            text = Path(m.group(1)).read_text(errors="replace")
            pos = None
            # The last quoted item is the most specific (segment 'x': file 'x.bin' ...).
            for quoted in reversed(re.findall(r"'([^']+)'", m.group(2))):
                pos = _text_pos(text, quoted)
                if pos:
                    break
            line, col = pos or (1, 1)
            return m.group(1), line, col, m.group(2)
    return None


def format_error(err):
    """The one line a CLI prints for ``err``."""
    where = locate(err)
    if where is None:
        return str(err)
    file, line, col, message = where
    return f"{file}:{line}:{col}: {message}"
