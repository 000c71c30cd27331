"""`skysegui train` options that override the config: crop size and learning rate."""

from __future__ import annotations

import argparse

from skysegui.cli.commands import train as train_command
from skysegui.cli.main import main
from skysegui.core.synthetic import write_demo_project


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    train_command.register(parser.add_subparsers())
    return parser.parse_args(["train", *argv])


def test_patch_and_learning_rate_override_the_config():
    config = train_command.build_config(
        _parse("--project", "x", "--preset", "tiny", "--patch", "128", "--learning-rate", "0.01")
    )
    assert config.model.patch_size == 128
    assert config.learning_rate == 0.01


def test_a_patch_size_the_network_cannot_take_is_one_error_line(tmp_path, capsys):
    project = write_demo_project(tmp_path / "p", count=2, width=64, height=32, labelled=1)
    code = main(["train", "--project", str(project.root), "--preset", "tiny", "--patch", "100"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: patch size 100") and "multiple of 32" in err
    assert not (project.root / "models").exists() or not any((project.root / "models").iterdir())
