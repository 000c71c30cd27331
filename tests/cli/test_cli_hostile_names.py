"""Image names from a label file never make `masks` or `export` write outside --out.

Each hostile name is put into the demo project's real labels.json and the real CLI runs;
every file that appears afterwards must lie inside the chosen output folder (or the
project's own cache), and images whose cleaned names clash never overwrite each other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from skysegui.cli.main import main
from skysegui.core.annotations.names import check_output_stem, safe_output_stem
from skysegui.core.errors import SkysegError, UnsafeNameError
from skysegui.core.synthetic import write_demo_project

HOSTILE = [
    "../../escape.exr",
    "/tmp/absolute_escape.exr",
    "http://x/y.jpg",
    "C:\\x\\windows.exr",
    "\\\\server\\share\\unc.exr",
    "a\x00b.exr",
    "line\nbreak.exr",
    "..",
    "dir/..",
    "/",
    "%2e%2e%2f%2e%2e%2fencoded.exr",
    "x" * 300 + ".exr",
]


def _files(root: Path) -> set[Path]:
    return {Path(d) / f for d, _, files in os.walk(root) for f in files}


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "deep" / "proj"
    write_demo_project(root, count=2, width=128, height=64, labelled=2)
    return root


def _set_names(project: Path, *names: str) -> None:
    path = project / "labels.json"
    data = json.loads(path.read_text())
    for image, name in zip(data["images"], names, strict=False):
        image["file_name"] = name
    path.write_text(json.dumps(data))


def _run(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse or a refused run
        return exc.code if isinstance(exc.code, int) else 1


@pytest.mark.parametrize("name", HOSTILE, ids=lambda n: repr(n)[:40])
def test_masks_never_write_outside_out(tmp_path, project, name):
    _set_names(project, name)
    out = tmp_path / "deep" / "out"
    before = _files(tmp_path)
    _run(["masks", str(project / "labels.json"), "--out", str(out)])
    new = _files(tmp_path) - before
    assert all(out in p.parents for p in new), sorted(map(str, new))
    # the untouched image is still written
    assert (out / "synthetic_01_day_forest.png").exists()
    for p in new:
        check_output_stem(p.stem)  # every written name passes the shared check


@pytest.mark.parametrize("name", HOSTILE, ids=lambda n: repr(n)[:40])
def test_export_never_writes_outside_out(tmp_path, project, name):
    _set_names(project, name)
    out = tmp_path / "deep" / "export"
    before = _files(tmp_path)
    _run(["export", "--project", str(project), "--what", "mask", "--out", str(out)])
    new = _files(tmp_path) - before
    allowed = (out, project / "cache")
    assert all(any(a in p.parents for a in allowed) for p in new), sorted(map(str, new))
    exported = {p.name for p in new if out in p.parents}
    assert "synthetic_01_day_forest.mask.png" in exported


@pytest.mark.parametrize("pair", [
    ("a/city.exr", "b/city.exr"),
    ("x\\city.exr", "city.exr"),
    ("City.exr", "city.exr"),
    ("/data/upload/1/cb0618f6-city.jpg", "http://h/city.exr"),
])
def test_masks_clashing_names_never_overwrite(tmp_path, project, pair, capsys):
    """Two entries whose cleaned names are equal: the loader merges them into one image
    with a warning, or two masks with unique names are written; never a silent overwrite."""
    _set_names(project, *pair)
    out = tmp_path / "out"
    assert _run(["masks", str(project / "labels.json"), "--out", str(out)]) == 0
    written = sorted(p.name.casefold() for p in out.iterdir())
    assert len(set(written)) == len(written)
    if len(written) == 1:
        assert "labels are merged into it" in capsys.readouterr().err
    else:
        assert len(written) == 2, written


@pytest.mark.parametrize("name", ["a\x00b.exr", "line\nbreak.exr", "..", "dir/..", "/", "\ud800.exr",
                                  "x" * 300 + ".exr"])
def test_safe_output_stem_refuses(name):
    with pytest.raises(UnsafeNameError) as info:
        safe_output_stem(name)
    assert isinstance(info.value, SkysegError)


@pytest.mark.parametrize(("name", "stem"), [
    ("../../escape.exr", "escape"),
    ("/tmp/abs.exr", "abs"),
    ("http://x/y.jpg", "y"),
    ("C:\\x\\y.exr", "y"),
    ("\\\\server\\share\\a.exr", "a"),
    ("%2e%2e%2fz.exr", "z"),
    ("/data/local-files/?d=images/city.jpg", "city"),
])
def test_safe_output_stem_keeps_only_the_last_component(name, stem):
    assert safe_output_stem(name) == stem
