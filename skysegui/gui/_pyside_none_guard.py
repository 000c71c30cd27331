"""Keep CPython 3.11 alive under a PySide6 that leaks references to None.

PySide6 6.12.0's void methods (setPos, setPath, QPointF.setX, ...) return None without
adding a reference: harmless on Python >= 3.12 where None is immortal, fatal on 3.11,
where every call takes one reference from None and the interpreter aborts with
"none_dealloc" after a few thousand calls (seconds of dragging in the editor).
pyproject.toml excludes 6.12.0; this guard covers any other build with the same fault:
it measures one void call and, only if None lost a reference, gives None a very large
reference count once, which makes it effectively immortal as on 3.12.
"""

from __future__ import annotations

import ctypes
import sys

_EXTRA_REFERENCES = 1 << 48
_checked = False


def _void_call_leaks_none() -> bool:
    from PySide6.QtCore import QPointF

    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(16):
        point.setX(1.0)
    return sys.getrefcount(None) < before


def protect_none() -> bool:
    """Apply the guard when this PySide6 needs it; returns whether it was applied."""
    global _checked
    if _checked or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    _checked = True
    if hasattr(sys, "getobjects") or not _void_call_leaks_none():
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += _EXTRA_REFERENCES
    return True
