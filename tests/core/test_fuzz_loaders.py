"""A bounded fuzzing battery: mutated real label files and model cards.

Every case must end in a result or a typed SkysegError (AnnotationError for labels,
ModelError for cards): no other exception. Derandomized and bounded (max_examples=60 a
test) so the file runs in seconds.
"""

from __future__ import annotations

import json
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skysegui.core.annotations import load_labels
from skysegui.core.errors import ModelError, SkysegError
from skysegui.core.synthetic import write_demo_project
from skysegui.ml.model import ModelCard, ModelConfig

BOUND = settings(max_examples=60, deadline=2000, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_DEEP = "__skyseg_fuzz_deep__"
_DELETE = object()
VALUES = [None, "", "x", "\x00", "\ud800", -1, 0, 2**63, 10**400, -(10**400), 1e308, -1e308,
          float("nan"), float("inf"), float("-inf"), True, [], {}, [None], {"": None},
          [[1e308, 1e308, -1e308, 1e308, 1e308, -1e308]], "../../x.exr", _DEEP, _DELETE]


def _paths(doc, prefix=(), limit=400):
    """Paths (tuples of keys/indexes) of every container member of `doc`, at most `limit`."""
    found = []
    stack = [(prefix, doc)]
    while stack and len(found) < limit:
        path, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            found.append(path + (key,))
            stack.append((path + (key,), value))
    return found


def _mutate(doc, mutations):
    for where, value in mutations:
        paths = _paths(doc)
        if not paths:
            return doc
        path = paths[where % len(paths)]
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if value is _DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return doc


def _text(doc) -> str:
    text = json.dumps(doc, allow_nan=True)
    return text.replace(json.dumps(_DEEP), "[" * 50_000 + "]" * 50_000)


MUTATIONS = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(VALUES)), min_size=1, max_size=4)


@pytest.fixture(scope="module")
def demo_labels(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz_demo")
    write_demo_project(root, count=2, width=128, height=64, labelled=2)
    return json.loads((root / "labels.json").read_text())


def _load(tmp_path, text_or_bytes):
    path = tmp_path / "labels.json"
    if isinstance(text_or_bytes, bytes):
        path.write_bytes(text_or_bytes)
    else:
        path.write_text(text_or_bytes, encoding="utf-8", errors="surrogatepass")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_labels(path)
        except SkysegError:
            return None


@BOUND
@given(mutations=MUTATIONS)
def test_mutated_coco_loads_or_raises_typed(tmp_path, demo_labels, mutations):
    _load(tmp_path, _text(_mutate(json.loads(json.dumps(demo_labels)), mutations)))


@BOUND
@given(mutations=MUTATIONS)
def test_mutated_label_studio_loads_or_raises_typed(tmp_path, label_studio_dir, mutations):
    doc = json.loads((label_studio_dir / "city_tasks.json").read_text())
    _load(tmp_path, _text(_mutate(doc, mutations)))


@BOUND
@given(cut=st.integers(0, 100_000), junk=st.binary(max_size=64), flips=st.lists(st.integers(0, 100_000), max_size=8))
def test_damaged_bytes_load_or_raise_typed(tmp_path, demo_labels, cut, junk, flips):
    data = bytearray(json.dumps(demo_labels).encode())
    for at in flips:
        data[at % len(data)] ^= 0x80
    _load(tmp_path, bytes(data[: cut % (len(data) + 1)]) + junk)


@pytest.fixture(scope="module")
def card_dict():
    return json.loads(ModelCard(config=ModelConfig(), dataset={"images": 3},
                                metrics={"val_iou": 0.5}, epoch=4).to_json())


@BOUND
@given(mutations=MUTATIONS)
def test_mutated_model_card_reads_or_raises_model_error(card_dict, mutations):
    text = _text(_mutate(json.loads(json.dumps(card_dict)), mutations))
    try:
        ModelCard.from_json(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    except ModelError:
        pass
