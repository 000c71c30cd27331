"""Let a finished training run's TensorFlow graphs be freed (a long session in the window).

tf.custom_gradient, which tf-keras uses when it sums gradients, registers each traced use
as "CustomGradient-<n>" in TensorFlow's global gradient registry and never removes it, and
that entry's closure holds the traced training graph (tensorflow#97697; tf-keras PR #898
purges them in clear_session). In the window every run trains in the same process, so each
run left ~18,000 graph ops alive: RSS grew ~200 MB per run in the soak benchmark. The
entries are only read while a function with that gradient is being traced, so the ones a
run added can go once it has ended.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

PREFIX = "CustomGradient-"


def _registry() -> dict | None:
    try:
        from tensorflow.python.framework import ops
    except ImportError:
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None  # a TensorFlow that moved it: leave alone


def custom_gradient_names() -> set[str]:
    registry = _registry()
    return set() if registry is None else {k for k in registry if isinstance(k, str) and k.startswith(PREFIX)}


@contextlib.contextmanager
def release_run_graphs() -> Iterator[None]:
    """Drop the custom-gradient entries registered while the block ran, when it ends."""
    before = custom_gradient_names()
    try:
        yield
    finally:
        registry = _registry()
        if registry is not None:
            for name in custom_gradient_names() - before:
                registry.pop(name, None)
