"""Read a settings file as plain YAML data, refusing what a settings file never needs.

PyYAML's safe loader still accepts things that hang or mislead a settings loader:
aliases (`*name`: nine nested aliases expand to a billion items when anything walks
the result), duplicate keys (the last one silently wins), keys that are not text
(`1:` beside `null:` cannot even be sorted), integers too long for Python's int
parser, and files of any size. Here the composed node tree is checked before anything
is constructed from it, so each of these is one ParamsError line naming the key.
"""

from __future__ import annotations

import yaml

from settings.checks import ParamsError, printable

MAX_FILE_BYTES = 100_000  # params.yaml is a few kilobytes; a bigger file is a mistake
MAX_DEPTH = 20  # nesting of mappings and lists
MAX_NUMBER_CHARS = 40  # digits of an integer or float written in the file
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present
_STR = "tag:yaml.org,2002:str"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    """The safe loader (plain data only), used node by node below."""


def read_mapping(path) -> dict:
    """The file's top-level mapping ({} if empty); ParamsError (one line) otherwise."""
    data = _read_capped(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParamsError(f"{path}: not UTF-8 text (byte {e.start})") from None
    _check_depth(text, path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_node(node, "", set(), path)
        raw = loader.construct_document(node)
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML{_at_line(e)}") from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections")
    return raw


def _read_capped(path) -> bytes:
    """At most MAX_FILE_BYTES, checked while reading (not from a size read earlier)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ParamsError(f"{path}: cannot read ({e.strerror or type(e).__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ParamsError(f"{path}: too large for a settings file (over {MAX_FILE_BYTES:,} bytes)")
    return data


def _check_depth(text: str, path) -> None:
    """Nesting checked on the event stream first: composing a deep tree recurses, and
    libyaml's composer overflows the C stack (a crash, not an exception)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1
                    raise ParamsError(f"{path}: nested too deeply (line {line})")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML{_at_line(e)}") from None


def _at_line(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark else ""


def _check_node(node, name: str, seen: set[int], path) -> None:
    """Walk the composed tree once; a node met twice is an alias (not expanded)."""
    where = f"{path}: {name or 'the top level'}"
    line = f"line {node.start_mark.line + 1}"
    if id(node) in seen:
        raise ParamsError(f"{where} uses a YAML alias ({line}); write the value out")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        _check_mapping(node, name, seen, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_node(item, f"{name}[{i}]", seen, path)
    elif node.tag in _NUMBERS and len(node.value) > MAX_NUMBER_CHARS:
        raise ParamsError(f"{where} is a number too long to be a setting ({line})")


def _check_mapping(node, name: str, seen: set[int], path) -> None:
    lines: dict[str, int] = {}
    for key, value in node.value:
        line = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode) or key.tag != _STR:
            shown = printable(key.value if isinstance(key, yaml.ScalarNode) else "...")
            inside = f" in {name}" if name else ""
            raise ParamsError(f"{path}: key '{shown}'{inside} must be a name (line {line})")
        full = f"{name}.{printable(key.value)}" if name else printable(key.value)
        if key.value in lines:
            raise ParamsError(
                f"{path}: {full} is given twice (lines {lines[key.value]} and {line})"
            )
        lines[key.value] = line
        _check_node(value, full, seen, path)
