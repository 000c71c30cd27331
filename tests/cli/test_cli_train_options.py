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


def test_the_region_split_is_the_default_and_split_chooses_another():
    assert train_command.build_config(_parse("--project", "x")).split == "region"
    for name in ("cpu-laptop", "gpu-server"):  # the shipped configs the defaults mirror
        assert train_command.build_config(_parse("--project", "x", "--config", name)).split == "region"
    assert train_command.build_config(_parse("--project", "x", "--split", "image")).split == "image"


def test_the_split_choices_are_the_trainers():
    from skysegui.ml.data.split import SPLITS

    assert {a.dest: a.choices for a in _parser_actions()}["split"] == SPLITS


def _parser_actions():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    train_command.register(sub)
    return sub.choices["train"]._actions


def test_fine_tune_encoder_is_a_config_option_off_by_default():
    assert not train_command.build_config(_parse("--project", "x")).fine_tune_encoder
    assert train_command.build_config(_parse("--project", "x", "--fine-tune-encoder")).fine_tune_encoder


def test_focus_on_errors_is_on_by_default_and_no_focus_turns_it_off():
    assert train_command.build_config(_parse("--project", "x")).focus_on_errors
    assert not train_command.build_config(_parse("--project", "x", "--no-focus")).focus_on_errors


def test_a_patch_size_the_network_cannot_take_is_one_error_line(tmp_path, capsys):
    project = write_demo_project(tmp_path / "p", count=2, width=64, height=32, labelled=1)
    code = main(["train", "--project", str(project.root), "--preset", "tiny", "--patch", "100"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: patch size 100") and "multiple of 32" in err
    assert not (project.root / "models").exists() or not any((project.root / "models").iterdir())


def test_without_a_config_the_defaults_are_the_machines_run_defaults():
    from skysegui.ml.defaults import run_defaults

    d = run_defaults()
    config = train_command.build_config(_parse("--project", "x"))
    assert (config.epochs, config.steps_per_epoch, config.batch_size) == (d.epochs, d.steps_per_epoch, d.batch_size)
    assert config.time_budget_min == d.time_budget_min
    assert config.model.backbone == ("mobilenetv2" if d.preset == "cpu" else "resnet34")
    assert train_command.build_config(_parse("--project", "x", "--budget", "2")).time_budget_min == 2


def test_train_prints_the_score_beside_the_baselines_and_warns_when_nothing_was_learnt(tmp_path, capsys):
    import json

    from skysegui.core.project import Project

    project = write_demo_project(tmp_path / "p", count=4, width=256, height=128, labelled=3, seed=2)
    code = main(["train", "--project", str(project.root), "--preset", "tiny", "--epochs", "1", "--steps", "3",
                 "--batch-size", "4", "--learning-rate", "1e-12", "--budget", "0", "--name", "stuck"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "all sky" in out and "no sky" in out and "mIoU" in out
    assert "warning: the model" in err and "has not learned yet" in err
    card = json.loads((project.models_dir / "stuck" / "card.json").read_text())
    assert card["verdict"]["status"] == "trivial"
    # the next run does not start from it: nothing to fine-tune, so from scratch
    args = _parse("--project", str(project.root), "--preset", "tiny")
    config = train_command.build_config(args)
    train_command.choose_start(args, config, Project.open(project.root))
    assert config.init_from == ""


def test_from_builtin_fine_tunes_the_built_in_sky_model(tmp_path, monkeypatch, capsys):
    """`--from builtin`: the built-in model's network and weights (its compact float16 file
    loads into training), at the fine-tuning rate; without it the word is one error line."""
    import json

    from skysegui.core.project import Project
    from tests._builtin import make_builtin_model

    project = write_demo_project(tmp_path / "p", count=3, width=256, height=128, labelled=3, seed=4)
    monkeypatch.setenv("SKYSEGUI_BUILTIN_MODEL", "none")
    assert main(["train", "--project", str(project.root), "--from", "builtin"]) == 2
    assert "cannot start from the built-in sky model" in capsys.readouterr().err

    builtin = make_builtin_model(tmp_path / "builtin")
    monkeypatch.setenv("SKYSEGUI_BUILTIN_MODEL", str(builtin))
    args = _parse("--project", str(project.root), "--from", "builtin")
    config = train_command.build_config(args)
    train_command.choose_start(args, config, Project.open(project.root))
    assert config.init_from == str(builtin)
    assert main(["train", "--project", str(project.root), "--from", "builtin", "--epochs", "1", "--steps", "2",
                 "--batch-size", "2", "--budget", "0", "--name", "tuned"]) == 0
    card = json.loads((project.models_dir / "tuned" / "card.json").read_text())
    assert card["config"]["backbone"] == json.loads((builtin / "card.json").read_text())["config"]["backbone"]
    assert "fine-tuned from" in json.dumps(card)
