"""Issue 16: a model folder is written as one unit. The card names the sha256 of the weights
it was saved with, and load_model never pairs a card with another save's weights, even
while a second process is saving the same folder over and over."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from skysegui.core.errors import ModelError
from skysegui.ml import model as model_module
from skysegui.ml.model import (
    CARD_NAME,
    PRESETS,
    WEIGHTS_NAME,
    ModelCard,
    build_model,
    load_model,
    save_model,
)

pytestmark = pytest.mark.slow


def _save_constant(net, value: int, folder):
    """Every weight = value, and the card says which value (as its epoch)."""
    net.set_weights([np.full(w.shape, value, w.dtype) for w in net.get_weights()])
    return save_model(net, ModelCard(config=PRESETS["tiny"], epoch=value), folder)


def _value_of(loaded) -> int:
    kernel = loaded.model.get_weights()[0]
    assert np.all(kernel == kernel.flat[0])
    return int(kernel.flat[0])


def test_the_card_names_its_weights_and_a_mismatch_is_never_loaded(tmp_path, monkeypatch):
    net = build_model(PRESETS["tiny"])
    one, two = tmp_path / "one", tmp_path / "two"
    _save_constant(net, 1, one)
    _save_constant(net, 2, two)
    card = ModelCard.from_json((one / CARD_NAME).read_text())
    assert len(card.weights_sha256) == 64 and card.weights_sha256 == model_module.file_sha256(one / WEIGHTS_NAME)
    assert _value_of(load_model(one)) == 1

    # the moment between a save's two renames: new weights beside the old card
    shutil.copyfile(two / WEIGHTS_NAME, one / WEIGHTS_NAME)
    # if the card that goes with them lands soon, the reader takes the pair
    timer = threading.Timer(0.3, lambda: shutil.copyfile(two / CARD_NAME, one / CARD_NAME))
    timer.start()
    loaded = load_model(one)
    timer.join()
    assert loaded.card.epoch == 2 and _value_of(loaded) == 2

    # if it never does, they were not saved together: a clear error, never a mixed model
    _save_constant(net, 5, one)
    shutil.copyfile(two / CARD_NAME, one / CARD_NAME)
    with pytest.raises(ModelError, match=r"cannot load .*corrupt, or it is not the weights file saved with"):
        load_model(one)
    # and one that keeps changing is named as being written
    monkeypatch.setattr(model_module, "CONSISTENT_READ_TRIES", 2)
    monkeypatch.setattr(model_module, "SETTLE_S", 10.0)
    stop = threading.Event()

    def rewrite():
        value = 6
        while not stop.is_set():
            _save_constant(build_model(PRESETS["tiny"]), value, tmp_path / "scratch")
            shutil.copyfile(tmp_path / "scratch" / WEIGHTS_NAME, one / WEIGHTS_NAME)  # never its card
            value += 1

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        with pytest.raises(ModelError, match="another program is writing this model"):
            load_model(one)
    finally:
        stop.set()
        writer.join()


def test_older_cards_without_a_hash_still_load(tmp_path):
    net = build_model(PRESETS["tiny"])
    _save_constant(net, 3, tmp_path / "m")
    card = ModelCard.from_json((tmp_path / "m" / CARD_NAME).read_text())
    card.weights_sha256 = ""
    text = card.to_json()
    assert '"weights_sha256": ""' in text
    (tmp_path / "m" / CARD_NAME).write_text(text)
    assert _value_of(load_model(tmp_path / "m")) == 3


WRITER = textwrap.dedent("""
    import pathlib, sys, time
    import numpy as np
    from skysegui.ml.model import PRESETS, ModelCard, build_model, save_model
    folder, stop = sys.argv[1], pathlib.Path(sys.argv[2])
    net = build_model(PRESETS["tiny"])
    value, end = 10, time.monotonic() + 300
    while not stop.exists() and time.monotonic() < end:
        net.set_weights([np.full(w.shape, value, w.dtype) for w in net.get_weights()])
        save_model(net, ModelCard(config=PRESETS["tiny"], epoch=value), folder)
        if value == 10:
            print("saving", flush=True)
        value += 1
    print(value - 10, flush=True)
""")


def test_a_reader_never_gets_half_a_model_while_another_process_saves(tmp_path):
    """Real processes: every load pairs a card with its own weights and never fails on a
    file being replaced (the moment between the two renames is the test above)."""
    folder = tmp_path / "busy"
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(stop)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert writer.stdout.readline().strip() == "saving"
        seen = []
        while len(seen) < 4:
            loaded = load_model(folder)
            seen.append((loaded.card.epoch, _value_of(loaded)))
        stop.touch()
        saves = int(writer.communicate(timeout=120)[0].strip())
    finally:
        writer.kill()
    assert saves > len(seen) >= 3  # the folder really changed under the reader
    assert all(epoch == value for epoch, value in seen), seen
    assert len({epoch for epoch, _ in seen}) > 1
