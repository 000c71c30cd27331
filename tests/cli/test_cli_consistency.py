"""Issue 14, "CLI consistency": one meaning per flag across commands, --quiet/--json/--force
everywhere they make sense, `tonemap --out`, a validated `export --operator`, renamed
flags that still work with a warning, `skysegui open PATH`, and --help texts that agree."""

from __future__ import annotations

import argparse
import json
import re

import cv2
import numpy as np
import pytest

from skysegui.cli import main as cli_main
from skysegui.cli import options
from skysegui.cli.main import build_parser, main
from skysegui.core.choices import OPERATORS
from skysegui.core.imageio import write_exr
from tests.conftest import REPO_ROOT

#: Commands that write files; predict skips what exists, the others refuse without --force.
WRITERS = {"convert", "dataset export", "demo", "export", "export-model", "masks", "polygons",
           "predict", "tonemap", "train"}
SKIPS = {"predict"}
NO_OUTPUT_FLAGS = {"open"}  # the window: no --quiet, --json or --force
SHARED_HELP = {  # flag: the one help text it has wherever it appears
    "--quiet": options.QUIET_HELP,
    "--json": options.JSON_HELP,
    "--exposure": options.EXPOSURE_HELP,
    "--offset": options.OFFSET_HELP,
    "--gamma": options.GAMMA_HELP,
    "--operator": options.OPERATOR_HELP,
    "--white-point": options.WHITE_POINT_HELP,
    "--ocio-view": options.OCIO_VIEW_HELP,
    "--ocio-config": options.OCIO_CONFIG_HELP,
}


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every runnable command's parser by its name ('dataset export' for nested ones)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found[prefix] = parser
            return
        for name, sub in subs[0].choices.items():
            walk(sub, f"{prefix} {name}".strip())

    walk(build_parser(with_gui_path=False), "")
    return found


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings if a.help != argparse.SUPPRESS}


COMMANDS = _commands()


# --- --help texts --------------------------------------------------------------------------------
def test_every_command_has_a_description_and_a_one_line_help():
    top = build_parser(with_gui_path=False)
    helps = {}
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
    assert set(helps) | {"dataset export"} >= {c.split()[0] for c in COMMANDS}
    for name, parser in COMMANDS.items():
        assert parser.description and len(parser.description) > 40, name
        assert helps.get(name.split()[0]), name
        assert parser.format_help()  # every help text formats (no stray % in it)


@pytest.mark.parametrize("flag", sorted(SHARED_HELP))
def test_a_shared_flag_has_one_help_text_and_one_meaning(flag):
    seen = {name: _options(p)[flag] for name, p in COMMANDS.items() if flag in _options(p)}
    assert seen, flag
    for name, action in seen.items():
        assert action.help == SHARED_HELP[flag], (name, flag)
    kinds = {(type(a).__name__, a.nargs, a.type, tuple(a.choices or ()), a.default) for a in seen.values()}
    assert len(kinds) == 1, (flag, kinds)


def test_quiet_and_json_on_every_command_that_prints():
    for name, parser in COMMANDS.items():
        flags = _options(parser)
        if name in NO_OUTPUT_FLAGS:
            assert not {"--quiet", "--json", "--force"} & set(flags), name
            continue
        assert "--quiet" in flags and "--json" in flags, name


def test_force_on_every_command_that_writes_and_only_predict_skips():
    for name, parser in COMMANDS.items():
        flags = _options(parser)
        assert ("--force" in flags) == (name in WRITERS), name
        if name in WRITERS:
            want = options.FORCE_REDO_HELP if name in SKIPS else options.FORCE_HELP
            assert flags["--force"].help == want, name


def test_out_names_where_every_writer_writes():
    for name in WRITERS - {"train"}:  # train writes into the project's models/ (--name)
        action = _options(COMMANDS[name]).get("--out")
        assert action is not None and action.metavar and action.help, name
        assert action.nargs is None, name


def test_images_is_always_a_folder_and_tolerance_is_gone():
    for name, parser in COMMANDS.items():
        flags = _options(parser)
        if "--images" in flags:
            assert flags["--images"].metavar == "DIR" and flags["--images"].nargs is None, name
            assert flags["--images"].help.startswith(options.IMAGES_HELP), name
        assert "--tolerance" not in flags, name  # two meanings: --simplify and --bf-tolerance
    assert "--only" in _options(COMMANDS["export"])
    assert "--simplify" in _options(COMMANDS["polygons"])
    assert "--bf-tolerance" in _options(COMMANDS["evaluate"])


def test_export_operator_offers_the_real_operators():
    assert tuple(_options(COMMANDS["export"])["--operator"].choices) == OPERATORS
    assert tuple(_options(COMMANDS["tonemap"])["--operator"].choices) == OPERATORS


def test_readme_lists_every_command_and_says_which_skip():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Command line"):]
    section = section[: section.index("\n## ", 3)]
    for name in COMMANDS:
        assert f"`{name}" in section, name
    assert re.search(r"predict.{0,80}skips", section, re.S), "README must say predict skips"
    for flag in ("--only", "--simplify", "--bf-tolerance", "skysegui open"):
        assert flag in section, flag


# --- --force: refuse (one line naming --force) or skip (predict) ------------------------------
def _tiny_exr(path, value=0.05):
    pixels = np.full((64, 128, 3), value, np.float32)  # the smallest panorama auto sky takes
    pixels[:32] = (2.0, 2.5, 4.0)  # a bright blue sky half
    write_exr(path, pixels, half=False)
    return path


def _coco(tmp_path):
    ring = [0, 0, 32, 0, 32, 8, 0, 8]
    coco = {"images": [{"id": 1, "file_name": "a.exr", "width": 32, "height": 16}],
            "categories": [{"id": 1, "name": "sky"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [ring]}]}
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(coco))
    return path


def _mask_dir(tmp_path):
    folder = tmp_path / "maskdir"
    folder.mkdir()
    mask = np.zeros((16, 32), np.uint8)
    mask[:8] = 255
    cv2.imwrite(str(folder / "a.png"), mask)
    return folder


def _refuses_then_forces(argv, target, capsys):
    """Run argv twice (the second must refuse, naming --force, and leave `target` as it
    was), then once more with --force."""
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    before = {p: p.stat().st_mtime_ns for p in ([target] if target.is_file() else target.rglob("*"))}
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "--force" in err, err
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert main([*argv, "--force"]) == 0


def test_tonemap_refuses_to_overwrite(tmp_path, capsys):
    image = _tiny_exr(tmp_path / "a.exr")
    _refuses_then_forces(["tonemap", str(image), "--out", str(tmp_path / "a.png")], tmp_path / "a.png", capsys)


def test_masks_refuses_to_overwrite(tmp_path, capsys):
    _refuses_then_forces(["masks", str(_coco(tmp_path)), "--out", str(tmp_path / "m")], tmp_path / "m", capsys)


def test_polygons_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "p.json"
    _refuses_then_forces(["polygons", str(_mask_dir(tmp_path)), "--out", str(out)], out, capsys)


def test_convert_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "c.json"
    _refuses_then_forces(["convert", str(_coco(tmp_path)), "--to", "coco", "--out", str(out)], out, capsys)


def test_export_refuses_to_overwrite(tmp_path, capsys):
    from tests.core.test_export import make_project

    project = make_project(tmp_path / "proj")
    _refuses_then_forces(["export", "--project", str(project.root), "--what", "mask", "--quiet",
                          "--out", str(tmp_path / "o")], tmp_path / "o", capsys)


def test_dataset_export_refuses_to_overwrite_and_force_replaces_the_patches(tmp_path, capsys):
    from tests.core.test_export import make_project

    project = make_project(tmp_path / "proj")
    out = tmp_path / "patches"
    argv = ["dataset", "export", "--project", str(project.root), "--out", str(out), "--patch", "16",
            "--stride", "16", "--val", "0.5"]
    _refuses_then_forces(argv, out, capsys)
    assert len(list((out / "X_train" / "train").iterdir())) == 2  # replaced, not added to
    (out / "X_val" / "val" / "notes.txt").write_text("mine")  # not a patch: --force keeps out
    assert main([*argv, "--force"]) == 2
    assert "notes.txt" in capsys.readouterr().err


def test_train_refuses_an_existing_model_folder(tmp_path, capsys):
    from tests.core.test_export import make_project

    project = make_project(tmp_path / "proj")
    folder = project.models_dir / "mine"
    folder.mkdir(parents=True)
    (folder / "card.json").write_text("{}")
    assert main(["train", "--project", str(project.root), "--name", "mine"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--force" in err and "--resume" in err
    assert len(err.strip().splitlines()) == 1
    assert (folder / "card.json").read_text() == "{}"


def test_predict_skips_what_exists(tmp_path, capsys):
    image = _tiny_exr(tmp_path / "a.exr")
    argv = ["predict", "--auto", "--out", str(tmp_path / "pred"), str(image)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    assert "--force" in capsys.readouterr().err  # skipped, and says how to redo


# --- --json and --quiet --------------------------------------------------------------------------
def test_json_is_one_object_on_stdout(tmp_path, capsys):
    image = _tiny_exr(tmp_path / "a.exr")
    coco = _coco(tmp_path)
    runs = {
        "info": ["info", str(image)],
        "tonemap": ["tonemap", str(image), "--out", str(tmp_path / "a.png")],
        "masks": ["masks", str(coco), "--out", str(tmp_path / "m")],
        "polygons": ["polygons", str(tmp_path / "m"), "--out", str(tmp_path / "p.json")],
        "convert": ["convert", str(tmp_path / "p.json"), "--to", "labelme", "--out", str(tmp_path / "lm")],
        "predict": ["predict", "--auto", "--out", str(tmp_path / "pred"), str(image)],
        "evaluate": ["evaluate", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "m"),
                     "--gt-sky-value", "255"],
    }
    got = {}
    for name, argv in runs.items():
        assert main([*argv, "--json", "--quiet"]) == 0, name
        captured = capsys.readouterr()
        got[name] = json.loads(captured.out)
        assert captured.err == "", (name, captured.err)  # --quiet: no bar, no warnings
    assert got["info"]["width"] == 128
    assert got["tonemap"]["operator"] == "srgb"
    assert [p.rsplit("/", 1)[-1] for p in got["masks"]["written"]] == ["a.png"]
    assert got["polygons"]["annotations"] >= 1
    assert got["convert"]["format"] == "labelme"
    assert got["predict"]["images"][0]["mode"] and got["predict"]["images"][0]["sky_percent"] > 0
    assert got["evaluate"]["mean"]["iou"] > 0


def test_quiet_silences_warnings_and_deprecations(tmp_path, capsys):
    masks = _mask_dir(tmp_path)
    argv = ["polygons", str(masks), "--out", str(tmp_path / "p.json"), "--tolerance", "1"]
    assert main([*argv, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert main([*argv, "--force"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("polygons: ")]
    assert err == ["warning: --tolerance is deprecated here: write --simplify PX "
                   "(`skysegui polygons --help`)"], err


# --- renamed flags still work ---------------------------------------------------------------------
def test_old_spellings_work_and_name_the_new_ones(tmp_path, capsys, gt_dir):
    from tests.core.test_export import make_project

    project = make_project(tmp_path / "proj")
    assert main(["export", "--project", str(project.root), "--what", "mask", "--images", "half",
                 "--out", str(tmp_path / "o")]) == 0
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["half.mask.png"]
    assert "--images is deprecated here: write --only NAME..." in capsys.readouterr().err

    pred = tmp_path / "pred"
    pred.mkdir()
    gt = cv2.imread(str(gt_dir / "city.png"), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(pred / "city.mask.png"), ((gt == 1) * 255).astype(np.uint8))
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt_dir), "--tolerance", "3", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["mean"]["boundary_f"] == pytest.approx(1.0)
    assert "write --bf-tolerance PX" in captured.err

    image = _tiny_exr(tmp_path / "a.exr")
    assert main(["tonemap", str(image), str(tmp_path / "old.png")]) == 0
    captured = capsys.readouterr()
    assert (tmp_path / "old.png").is_file() and "wrote" in captured.out
    assert captured.err.splitlines() == [
        f"warning: `tonemap IMAGE {tmp_path / 'old.png'}` is deprecated: write "
        f"`tonemap IMAGE --out {tmp_path / 'old.png'}`"]
    assert main(["tonemap", str(image), str(tmp_path / "x.png"), "--out", str(tmp_path / "y.png")]) == 2
    assert "give only --out" in capsys.readouterr().err
    assert main(["tonemap", str(image)]) == 2
    assert "--out" in capsys.readouterr().err


def test_operator_is_checked_by_the_parser(tmp_path, capsys):
    from tests.core.test_export import make_project

    project = make_project(tmp_path / "proj")
    with pytest.raises(SystemExit) as exc:
        main(["export", "--project", str(project.root), "--what", "overlay", "--operator", "fancy",
              "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'fancy'" in err and "filmic" in err
    assert not (tmp_path / "o").exists()


def test_ocio_views_are_named_and_checked(tmp_path, capsys):
    from skysegui.core.tonemap import ocio

    if ocio.unavailable_reason():
        pytest.skip("PyOpenColorIO is not installed")
    image = _tiny_exr(tmp_path / "a.exr")
    view = ocio.list_views("builtin")[0][1]
    assert main(["tonemap", str(image), "--out", str(tmp_path / "v.png"), "--ocio-view", view, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["operator"] == "ocio"
    assert main(["tonemap", str(image), "--out", str(tmp_path / "w.png"), "--ocio-view", "Nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "has no view 'Nope'" in err and view in err
    assert len(err.strip().splitlines()) == 1


# --- skysegui open PATH --------------------------------------------------------------------------
@pytest.fixture()
def opened(monkeypatch):
    calls = []
    monkeypatch.setattr(cli_main, "run_gui", lambda args: calls.append(args.path) or 0)
    return calls


def test_open_opens_a_folder_named_like_a_command(tmp_path, monkeypatch, opened):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert main(["open", "demo"]) == 0
    assert main(["./demo"]) == 0  # a path that is not a command's name: as before
    assert main(["other-folder"]) == 0
    assert main(["open"]) == 0
    assert opened == ["demo", "./demo", "other-folder", None]


def test_a_command_beside_a_path_of_its_name_says_how_to_open_it(tmp_path, monkeypatch, capsys, opened):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train").mkdir()
    with pytest.raises(SystemExit):
        main(["train"])  # the command, which needs --project
    err = capsys.readouterr().err
    assert "skysegui open ./train" in err and "--project" in err
    assert opened == []
    assert main(["info", str(_tiny_exr(tmp_path / "a.exr"))]) == 0  # no such path: no note
    assert "note:" not in capsys.readouterr().err


def test_open_takes_screenshot_before_or_after_the_command(tmp_path, monkeypatch):
    shots = []
    monkeypatch.setattr(cli_main, "run_gui", lambda args: shots.append((args.path, args.screenshot)) or 0)
    assert main(["open", "--screenshot", "a.png", "p"]) == 0
    assert main(["--screenshot", "b.png", "open", "p"]) == 0
    assert main(["open", "p"]) == 0
    assert shots == [("p", "a.png"), ("p", "b.png"), ("p", None)]
    assert main(["--screenshot", "c.png", "demo"]) == 0  # a window option: demo is a path here
    assert shots[-1] == ("demo", "c.png")
