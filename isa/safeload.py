"""Reading YAML and JSON data files (configs, ``bundle.yaml``) with limits.

A few bytes of YAML can describe a huge document (an "alias bomb": anchors whose aliases
nest, 1.4 KB for 10^9 elements). PyYAML shares the aliased nodes, so building the
document is cheap, but anything that walks it (a message that prints a value, a sum over
a shape) is not. Here the composed node graph is bounded before any Python object is
built: file size, nodes composed, nesting depth, and the size and depth the document
would have with every alias expanded (counted node by node as it is composed, so a bomb
stops at the first node that crosses a limit). Duplicate mapping keys are errors (YAML and JSON),
as are JSON's NaN/Infinity literals.

Limits (defaults; raise them with the environment variables of the same name):

* ``VTA_YAML_MAX_BYTES`` = 1 MiB   size of one config or ``bundle.yaml``
* ``VTA_YAML_MAX_NODES`` = 100000  values in the document, counting every alias expansion
* ``VTA_YAML_MAX_DEPTH`` = 64      nesting depth, counting every alias expansion

A ``bundle.yaml`` describes one segment in ~20 values, so the defaults allow ~5,000
segments, far beyond a whole network; PyYAML composes ~20,000 values a second, so the
worst file within the limits costs seconds, not minutes.
"""
from __future__ import annotations

import json
import os

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import VTAError

LIMITS = {"VTA_YAML_MAX_BYTES": 1 << 20, "VTA_YAML_MAX_NODES": 100_000, "VTA_YAML_MAX_DEPTH": 64}


def limit(name):
    """The limit ``name`` (see LIMITS): the environment's value, else the default."""
    text = os.environ.get(name)
    if not text:
        return LIMITS[name]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise VTAError(f"environment variable {name}={text[:50]!r} must be a positive integer")
    return value


class _Limit(yaml.YAMLError):
    def __init__(self, problem, mark=None):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts what it composes and rejects duplicate mapping keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self.max_nodes, self.max_depth = limit("VTA_YAML_MAX_NODES"), limit("VTA_YAML_MAX_DEPTH")
        self.nodes = self.depth = 0
        self.expanded = {}   # id(node) -> (values, depth) with every alias expanded

    def compose_node(self, parent, index):
        self.depth += 1
        self.nodes += 1
        try:
            mark = self.peek_event().start_mark
            if self.depth > self.max_depth:
                raise _Limit(f"nested deeper than {self.max_depth} levels (VTA_YAML_MAX_DEPTH)", mark)
            if self.nodes > self.max_nodes:
                raise _Limit(f"more than {self.max_nodes} values (VTA_YAML_MAX_NODES)", mark)
            alias = self.check_event(AliasEvent)
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if alias:
            if id(node) not in self.expanded:   # its anchor is still being composed
                raise _Limit("an alias refers to a node that contains it (a recursive document)", mark)
            return node
        if isinstance(node, SequenceNode):
            kids = node.value
        elif isinstance(node, MappingNode):
            kids = [x for pair in node.value for x in pair]
        else:
            kids = ()
        sub = [self.expanded[id(k)] for k in kids]
        values = 1 + sum(v for v, _ in sub)
        depth = 1 + max((d for _, d in sub), default=0)
        if values > self.max_nodes:
            raise _Limit(f"expands to more than {self.max_nodes} values through its aliases "
                         "(VTA_YAML_MAX_NODES)", mark)
        if depth > self.max_depth:
            raise _Limit(f"nests deeper than {self.max_depth} levels through its aliases "
                         "(VTA_YAML_MAX_DEPTH)", mark)
        self.expanded[id(node)] = (values, depth)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue
                if first is not key_node:
                    raise _Limit(f"duplicate key {key_node.value[:50]!r} (first at line "
                                 f"{first.start_mark.line + 1})", key_node.start_mark)
        return super().construct_mapping(node, deep)


def read_text(path, error, what="file"):
    """The text of a data file, refusing files larger than VTA_YAML_MAX_BYTES."""
    cap = limit("VTA_YAML_MAX_BYTES")
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError as e:
        raise error(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    if len(data) > cap:
        raise error(f"{path}: the {what} is larger than {cap} bytes (VTA_YAML_MAX_BYTES)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{path}: the {what} is not UTF-8 text (byte {e.start})") from None


def load_yaml(text, where, error):
    """Parse YAML ``text`` (from ``where``) within the limits; ``error`` on any problem."""
    loader = None
    try:
        loader = _Loader(text)   # the reader rejects control characters (NUL, ...) here
        node = loader.get_single_node()
        if node is None:
            return None
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{where}: invalid YAML{at}: {problem}") from None
    except (ValueError, OverflowError, RecursionError) as e:   # e.g. int() of 5000 digits
        raise error(f"{where}: invalid YAML: {str(e)[:200]}") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_json(text, where, error):
    """Parse JSON ``text``: duplicate keys and NaN/Infinity are errors."""
    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise error(f"{where}: invalid JSON: duplicate key {k[:50]!r}")
            out[k] = v
        return out

    def constant(name):
        raise error(f"{where}: invalid JSON: {name} is not a number")
    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as e:
        raise error(f"{where}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except (ValueError, RecursionError) as e:
        raise error(f"{where}: invalid JSON: {str(e)[:200] or 'nested too deeply'}") from None
