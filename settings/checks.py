"""How params.yaml is checked: a frozen dataclass per section, whose fields are the
allowed keys, whose type hints are the allowed types and whose `field(metadata=...)`
states the allowed values. Anything else is one ParamsError line naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
import types
import typing
from dataclasses import field

from settings.errors import UserError


class ParamsError(UserError, ValueError):
    """A key of params.yaml is unknown, of the wrong type or impossible."""


def at_least(lo, default=dataclasses.MISSING):
    return field(default=default, metadata={"min": lo})


def within(lo, hi, default=dataclasses.MISSING):
    """A number in [lo, hi]: every duration, size and count has a sane maximum, so a
    typo such as 1.0e+10 seconds is refused here, not by a crash deep in a stage."""
    return field(default=default, metadata={"min": lo, "max": hi})


def fraction(default):
    return field(default=default, metadata={"min": 0.0, "max": 0.99})


def one_of(*choices, default=dataclasses.MISSING):
    return field(default=default, metadata={"choices": choices})


def build(cls: type, raw, name: str):
    """Make dataclass `cls` from the mapping `raw`, checking every key on the way."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{name} must be a mapping, got {_kind(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(map(str, set(raw) - set(fields)))  # str: keys of mixed types sort
    if unknown:
        raise ParamsError(
            f"{name}.{printable(unknown[0])} is not a known setting (known: {', '.join(fields)})"
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for key, f in fields.items():
        if key not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ParamsError(f"{name}.{key} is missing")
            continue
        values[key] = _check(raw[key], hints[key], f"{name}.{key}", f.metadata)
    return cls(**values)


def _check(value, hint, name: str, rules=None):
    rules = rules or {}
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(t for t in options if t is not type(None))
        return _check(value, hint, name, rules)
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{name} must be a list, got {_kind(value)}")
        (item,) = typing.get_args(hint)
        return [_check(v, item, f"{name}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict) or not value:
            raise ParamsError(f"{name} must be a non-empty mapping, got {_kind(value)}")
        _, item = typing.get_args(hint)
        return {str(k): _check(v, item, f"{name}.{printable(k)}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return build(hint, value, name)
    value = _check_type(value, hint, name)
    _check_rules(value, rules, name)
    return value


def _check_type(value, hint, name):
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = _finite(value, name) if ok else value
    else:
        ok = isinstance(value, hint)
    if not ok:
        raise ParamsError(f"{name} must be {_article(hint.__name__)}, got {_kind(value)}")
    if hint is str and not value.strip():
        raise ParamsError(f"{name} must not be empty")
    return value


def _check_rules(value, rules, name):
    if "choices" in rules and value not in rules["choices"]:
        choices = ", ".join(rules["choices"])
        raise ParamsError(f"{name} must be one of {choices}, got {_SHORT.repr(value)}")
    if "min" in rules and value < rules["min"]:
        raise ParamsError(f"{name} must be at least {rules['min']}, got {_SHORT.repr(value)}")
    if "max" in rules and value > rules["max"]:
        raise ParamsError(f"{name} must be at most {rules['max']}, got {_SHORT.repr(value)}")


def _finite(value, name: str) -> float:
    """nan passes every `<` and `>` check, so a bound on it would check nothing."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ParamsError(f"{name} must be a finite number, got {_kind(value)}")
    return number


def printable(key) -> str:
    """A key as one line of ASCII: a newline must not forge a second message line, and a
    look-alike letter (Cyrillic 'а' for 'a') must not read as the real name, so every
    non-ASCII character is shown escaped (\\u0430)."""
    text = str(key)
    return "".join(
        c if c.isprintable() and c.isascii() else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


# Bounded: a value made of nested aliases (or any huge value) is never shown whole.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 3, 4, 4
_SHORT.maxstring, _SHORT.maxlong, _SHORT.maxother = 60, 40, 60


def _kind(value) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {_SHORT.repr(value)}"[:80]


def _article(word: str) -> str:
    return {
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "str": "a string",
    }.get(word, f"a {word}")
