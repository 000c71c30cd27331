"""Values that decode from a label file but could never be written back as JSON.

Python's json module reads a lone surrogate escape ("\\ud800"), NaN, Infinity and
integers of any length, but a UTF-8 file cannot hold a lone surrogate, strict JSON has
no NaN or Infinity, and Python refuses to print an integer of more than 4,300 digits.
Such values in kept unknown fields would make every later save fail. `clean_json`
repairs them once, on load, with a warning naming the field: a lone surrogate becomes
U+FFFD, NaN/Infinity and absurdly long integers become null. `json_safe` does the same
silently before a save, so no value an edit put there can make a save fail.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: integers longer than this (in digits) are read as null: no label value needs them
MAX_INT_DIGITS = 1000


class _LongInt(float):
    """What parse_int gives for an absurdly long integer: a NaN (every reader already
    refuses NaN where it needs a number) that clean_json names and turns into null."""


_LONG_INT = _LongInt("nan")
MAX_WARNINGS = 5  # more than this many repaired values: the rest are counted


def parse_int(text: str):
    """json.loads(parse_int=...): an int, or a marker clean_json turns into null."""
    digits = len(text.lstrip("-"))
    return _LONG_INT if digits > MAX_INT_DIGITS else int(text)


def loads(text: str):
    """json.loads that never raises on a long integer (it becomes a marker for clean_json)."""
    return json.loads(text, parse_int=parse_int)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean_value(value: Any) -> tuple[Any, str | None]:
    """(the value to keep, what was wrong with it or None)."""
    if isinstance(value, _LongInt):
        return None, f"an integer of more than {MAX_INT_DIGITS} digits (kept as null)"
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"{value!r} is not valid JSON (kept as null)"
    if isinstance(value, str) and not _encodable(value):
        return _fix_surrogates(value), "a lone surrogate escape (replaced by U+FFFD)"
    return value, None


def _fix_surrogates(text: str) -> str:
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def _repair(data: Any, report) -> Any:
    """Walk the decoded JSON without recursion (it may be nested deeply) and repair it in
    place; report(path, problem) is called for each repaired value."""
    data, problem = _clean_value(data)
    if problem:
        report("", problem)
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            bad_keys = [k for k in node if isinstance(k, str) and _clean_value(k)[1]]
            for key in bad_keys:
                fixed = _fix_surrogates(key)
                report(where, f"key {fixed!r} held a lone surrogate escape (replaced by U+FFFD)")
                node[fixed] = node.pop(key)
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, value in list(items):
            path = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
            if isinstance(value, dict | list):
                stack.append((value, path))
                continue
            fixed, problem = _clean_value(value)
            if problem:
                node[key] = fixed
                report(path.lstrip("."), problem)
    return data


def clean_json(data: Any, warn) -> Any:
    """Repair `data` (decoded JSON) so it can be saved again; warn(where, message) for the
    first MAX_WARNINGS repaired values and once more with the count of the rest."""
    found: list[tuple[str, str]] = []
    data = _repair(data, lambda where, problem: found.append((where, problem)))
    for where, problem in found[:MAX_WARNINGS]:
        warn(f"field {where or '(top level)'}", f"{problem}; the file is saved with the repaired value")
    if len(found) > MAX_WARNINGS:
        warn("", f"{len(found) - MAX_WARNINGS} more value(s) were repaired the same way")
    return data


def json_safe(data: Any) -> Any:
    """`data` with every value that strict UTF-8 JSON cannot hold repaired (silently)."""
    return _repair(data, lambda where, problem: None)
