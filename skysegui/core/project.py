"""A project folder: images, labels (with autosave and crash recovery), models,
predictions and the dataset cache, laid out as docs/architecture.md describes.

A project can also be opened from a COCO file: its folder becomes the root and the
file is the labels; images are taken from <root>/images if it exists, else the root.
Opened from a Label Studio task export (or a labelme file, which brings every labelme
file of its folder, or a CVAT XML), the labels are saved as COCO beside it
(<name>.coco.json) so the export itself is never overwritten; the next open finds that
file (and its autosave) and shows the saved edits, not the export again.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from skysegui.core.annotations import (
    NON_SKY,
    SKY,
    AnnotationSet,
    Category,
    ImageRecord,
    LoadResult,
    load_labels,
    save_coco,
)
from skysegui.core.annotations.names import file_key, index_images
from skysegui.core.atomicio import write_text_atomic
from skysegui.core.errors import AnnotationError, ProjectError, SkysegError

LABELS_NAME = "labels.json"
SETTINGS_NAME = "project.json"


class LabelsChangedError(ProjectError):
    """labels.json changed on disk since this program loaded (or last saved) it: another
    window or program saved it. Saving now would overwrite their edits."""


def file_stamp(path: Path) -> tuple[int, int, str] | None:
    """(mtime_ns, size, sha256) of a file, or None when it does not exist."""
    import hashlib

    try:
        stat = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, digest


class Project:
    def __init__(self, root: str | Path, labels_path: str | Path | None = None) -> None:
        self.root = Path(root)
        #: the labels file the user gave (a COCO file, or a Label Studio export)
        self.source_path = Path(labels_path) if labels_path else self.root / LABELS_NAME
        #: where the labels are saved: the source itself when it is COCO; beside a Label
        #: Studio export, <name>.coco.json (found again on the next open, with its autosave)
        self.labels_path = self.source_path
        beside = _beside(self.source_path)
        if beside.exists() or _autosave_of(beside).exists():
            self.labels_path = beside
        images = self.root / "images"
        # panoramas live in images/; a folder without one keeps them beside the labels
        self.images_dir = images if images.is_dir() or not self.root.is_dir() else self.root
        self.autosave_path = _autosave_of(self.labels_path)
        self.models_dir = self.root / "models"
        self.predictions_dir = self.root / "predictions"
        self.cache_dir = self.root / "cache"
        #: labels_path as it was when loaded or last saved by us (file_stamp): a save
        #: checks it so that another writer's edits are never overwritten in silence
        self.loaded_stamp: tuple[int, int, str] | None = None
        self._seen = False  # loaded or saved by this object: only then can it tell a change
        self._frozen: LoadResult | None = None  # set on a snapshot() copy only

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    # --- opening ----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> Project:
        """A project folder, or a COCO/Label Studio JSON file with the images beside it."""
        path = Path(path)
        if path.is_file():
            if path.suffix.lower() not in (".json", ".xml"):
                raise ProjectError(f"{path} is not a project folder or a label file (.json, or CVAT .xml)")
            project = cls(path.parent, path)
            project.clean_temp_files()
            return project
        if not path.is_dir():
            raise ProjectError(f"{path} does not exist; choose a project folder or create one")
        project = cls(path)
        if not (path / "images").is_dir() and not project.source_path.exists():
            raise ProjectError(
                f"{path} is not a project: it has neither an images/ folder nor {LABELS_NAME}; "
                "create a project there or put the panoramas in images/"
            )
        project.clean_temp_files()
        return project

    def clean_temp_files(self) -> list[Path]:
        """Remove what killed writes left behind (our own temporary names, an hour old):
        in the project folder, images/, predictions/, cache/ and each model folder."""
        from skysegui.core.atomicio import clean_stale_temp_files

        removed = clean_stale_temp_files(self.root, depth=0)
        for folder, depth in ((self.images_dir, 0), (self.predictions_dir, 0),
                              (self.cache_dir, 2), (self.models_dir, 2)):
            if folder != self.root and folder.is_dir():
                removed += clean_stale_temp_files(folder, depth=depth)
        return removed

    @classmethod
    def create(cls, root: str | Path) -> Project:
        root = Path(root)
        if root.is_file():
            raise ProjectError(f"{root} is a file; choose a folder for the new project")
        try:
            for sub in ("images", "models", "predictions", "cache"):
                (root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create a project in {root}: {exc.strerror or exc}") from exc
        return cls(root)

    # --- images and labels ------------------------------------------------------------------
    def image_paths(self) -> list[Path]:
        """Panoramas of the images folder, one per name (HDR preferred), sorted by name."""
        return sorted(index_images(self.images_dir).values(), key=lambda p: p.name.casefold())

    def snapshot(self, labels: AnnotationSet, note: str = "") -> Project:
        """This project with its labels frozen as `labels` are now (a deep copy).

        Why: a training run reads the labels in its own thread while the window goes on
        editing and saving them. The run gets what the user saw when they pressed Start
        (unsaved edits included), never a mix of two saves, and reading them does not
        touch this project's record of the labels file on disk (which guards the window's
        next save against other writers)."""
        snap = copy.copy(self)
        snap._frozen = LoadResult(labels=copy.deepcopy(labels), warnings=[note] if note else [])
        return snap

    def load_labels(self) -> LoadResult:
        """The labels file (if any), plus an image entry for every panorama not in it yet;
        on a snapshot(), a copy of the frozen labels (the file is not read)."""
        if self._frozen is not None:
            return LoadResult(labels=copy.deepcopy(self._frozen.labels), warnings=list(self._frozen.warnings),
                              format=self._frozen.format)
        result = self._load_labels()
        self.remember_disk_state()
        return result

    def remember_disk_state(self) -> None:
        """The labels file as it is now counts as the one this program has seen."""
        self.loaded_stamp = file_stamp(self.labels_path)
        self._seen = True

    def labels_changed_on_disk(self) -> bool:
        """Did another program write labels_path since we loaded or saved it? (mtime and
        size first; when they differ, the content hash decides, so a mere touch is no change)."""
        now = file_stamp(self.labels_path) if self.labels_path.exists() else None
        before = self.loaded_stamp
        if now is None or before is None:
            return now != before
        if now[:2] == before[:2]:
            return False
        if now[2] == before[2]:
            self.loaded_stamp = now  # touched, same content
            return False
        return True

    def _load_labels(self) -> LoadResult:
        if self.labels_path != self.source_path and self.labels_path.exists():
            # the COCO file saved beside a Label Studio export holds the user's edits
            result = load_labels(self.labels_path, images_dir=self.images_dir)
            if (self.source_path.exists()
                    and self.source_path.stat().st_mtime_ns > self.labels_path.stat().st_mtime_ns):
                result.warnings.append(
                    f"{self.source_path.name} changed after your edits were last saved to "
                    f"{self.labels_path.name}: showing your saved edits; to start again from "
                    f"the new export, rename or delete {self.labels_path.name}"
                )
        elif self.source_path.exists():
            result = load_labels(self.source_path, images_dir=self.images_dir)
            if result.format == "labelme":  # labelme keeps one file per image: read them all
                result = load_labels(self.source_path.parent, images_dir=self.images_dir)
            if result.format != "coco":
                self._save_beside(_beside(self.source_path))
        else:
            result = LoadResult(_empty_labels(), [])
        self._add_missing_images(result)
        return result

    def _save_beside(self, path: Path) -> None:
        self.labels_path = path
        self.autosave_path = _autosave_of(path)

    def _add_missing_images(self, result: LoadResult) -> None:
        from skysegui.core.imageio import probe_image

        labels = result.labels
        # labels were matched to the files of images_dir when loaded: a file is new when no
        # image record points at it (names alone would confuse "20230515-sky" and "20230516-sky")
        known = {i.path for i in labels.images.values() if i.path is not None}
        unmatched = {file_key(i.file_name) for i in labels.images.values() if i.path is None}
        for path in self.image_paths():
            if path in known or file_key(path.name) in unmatched:
                continue
            try:
                info = probe_image(path)
            except SkysegError as exc:
                result.warnings.append(f"{path}: skipped ({exc})")
                continue
            iid = labels.new_id(labels.images)
            labels.images[iid] = ImageRecord(iid, path.name, int(info.width), int(info.height), path)

    def save_labels(self, labels: AnnotationSet, overwrite: bool = False) -> None:
        """Save atomically (keeping labels.json.bak) and drop the now stale autosave.

        LabelsChangedError when the file changed on disk since it was loaded or saved
        here (another window or program saved it), unless overwrite (the user chose to).
        A Project that never loaded the labels (a script writing new ones) is not checked."""
        if not overwrite and self._seen and self.labels_changed_on_disk():
            raise LabelsChangedError(
                f"{self.labels_path.name} was changed by another window or program since it was "
                "opened here; reload it, merge your edits into it, or save yours as a copy"
            )
        save_coco(labels, self.labels_path, keep_backup=True)
        self.remember_disk_state()
        self.discard_recovery()

    def load_on_disk(self) -> LoadResult:
        """The labels file as it is on disk now (another writer's version), for a merge;
        loading it does not change what this project counts as seen."""
        return load_labels(self.labels_path, images_dir=self.images_dir)

    # --- autosave and recovery ----------------------------------------------------------------
    def autosave(self, labels: AnnotationSet) -> None:
        save_coco(labels, self.autosave_path, keep_backup=False)

    def has_recovery(self) -> bool:
        """An autosave newer than the saved labels exists (the program did not close cleanly)."""
        if not self.autosave_path.exists():
            return False
        if not self.labels_path.exists():
            return True
        return self.autosave_path.stat().st_mtime_ns >= self.labels_path.stat().st_mtime_ns

    def recover(self) -> LoadResult:
        if not self.autosave_path.exists():
            raise ProjectError(f"there is no autosave to recover in {self.root}")
        try:
            result = load_labels(self.autosave_path, images_dir=self.images_dir)
            self.remember_disk_state()
            return result
        except AnnotationError as exc:
            raise ProjectError(f"the autosave cannot be recovered ({exc}); discard it") from exc

    def discard_recovery(self) -> None:
        self.autosave_path.unlink(missing_ok=True)

    # --- settings -------------------------------------------------------------------------------
    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_NAME

    def load_settings(self) -> dict[str, Any]:
        """project.json as a dict ({} when absent); a broken file is a ProjectError."""
        if not self.settings_path.exists():
            return {}
        try:
            data = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ProjectError(f"{self.settings_path} is not valid JSON ({exc}); fix or delete it") from exc
        if not isinstance(data, dict):
            raise ProjectError(f"{self.settings_path} must hold a JSON object; fix or delete it")
        return data

    def save_settings(self, settings: dict[str, Any]) -> None:
        write_text_atomic(self.settings_path, json.dumps(settings, indent=2), keep_backup=True)


def _beside(source: Path) -> Path:
    """Where the labels of a (non-COCO) label file are saved: <name>.coco.json beside it."""
    return source.with_name(source.stem + ".coco.json")


def _autosave_of(labels_path: Path) -> Path:
    return labels_path.with_name(labels_path.stem + ".autosave.json")


autosave_of = _autosave_of


def own_autosave_path(autosave_path: Path) -> Path:
    """The autosave of a window that does not hold the project's lock: a name of its own
    (labels.autosave.<host>-<pid>-<n>.json), so that it never overwrites or deletes the
    holder's autosave. After a crash it stays: a COCO file File > Open Label File opens."""
    import os
    import socket
    import uuid

    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())[:32]
    return autosave_path.with_name(
        f"{autosave_path.stem}.{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}{autosave_path.suffix}")


def unique_path(labels_path: Path, tag: str) -> Path:
    """labels.<tag>-<date>-<time>.json beside labels_path, numbered if it exists."""
    import time

    stem = f"{labels_path.stem}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = labels_path.with_name(f"{stem}.json"), 1
    while path.exists():
        n += 1
        path = labels_path.with_name(f"{stem}-{n}.json")
    return path


def _empty_labels() -> AnnotationSet:
    labels = AnnotationSet()
    labels.categories[SKY] = Category(SKY, "sky")
    labels.categories[NON_SKY] = Category(NON_SKY, "non-sky")
    return labels


