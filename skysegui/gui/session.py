"""The open project and its labels: open, save, autosave, recovery, unsaved-edit questions.

Dirty = the undo stack is not at its clean index (or labels were restored from an autosave).
Questions go through `ask(kind, text) -> answer` so tests can answer them; the default asks
with a QMessageBox. Kinds and answers:
  "recover": "restore" | "discard" | "later"   (autosaved edits found when opening)
  "unsaved": "save" | "discard" | "cancel"     (closing or switching with unsaved edits)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox, QWidget

from skysegui.core.errors import ProjectError, SkysegError
from skysegui.core.imageio import probe_image
from skysegui.core.project import Project

AUTOSAVE_MS = 60_000
Ask = Callable[[str, str], str]


def message_box_ask(parent: QWidget | None) -> Ask:
    """The interactive answerer: a modal QMessageBox per question."""

    def ask(kind: str, text: str) -> str:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("SkySeg GUI")
        box.setText(text)
        if kind == "recover":
            restore = box.addButton("Restore autosaved edits", QMessageBox.ButtonRole.AcceptRole)
            discard = box.addButton("Discard them", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton("Decide later", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(restore)
            box.exec()
            clicked = box.clickedButton()
            return "restore" if clicked is restore else "discard" if clicked is discard else "later"
        buttons = (
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setStandardButtons(buttons)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(QMessageBox.StandardButton(answer), "cancel")

    return ask


class Session(QObject):
    """What is open. The window shows it; this class decides nothing about widgets."""

    opened = Signal()  # a project or an image was opened (image list, labels changed)
    dirtyChanged = Signal(bool)
    message = Signal(str)  # status-bar text (load warnings, saved, autosaved)

    def __init__(self, undo_stack: QUndoStack, ask: Ask, parent=None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.ask = ask
        self.project: Project | None = None
        self.labels = None  # core AnnotationSet, or None for a lone image
        self.images: list[Path] = []
        self.source: Path | None = None
        self.warnings: list[str] = []  # what loading the open labels repaired or skipped
        self._restored = False
        self._dirty = False
        self._autosaved_state: tuple[int, bool] | None = None
        self._deferred_recovery = False  # "Decide later": the crash's autosave is still on disk
        undo_stack.cleanChanged.connect(self._update_dirty)
        undo_stack.indexChanged.connect(self._update_dirty)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # --- state -----------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._dirty

    def _update_dirty(self, *_args) -> None:
        if not shiboken6.isValid(self.undo_stack):
            return  # the window is being destroyed
        dirty = self._restored or not self.undo_stack.isClean()
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirtyChanged.emit(dirty)

    def mark_restored(self, on: bool) -> None:
        self._restored = on
        self._update_dirty()

    def image_id(self, path: Path):
        """The label record id of this image (matched by cleaned name), or None."""
        if self.labels is None:
            return None
        record = self.labels.image_by_name(Path(path).name)
        return None if record is None else record.id

    def is_labelled(self, path: Path) -> bool:
        """Has annotations, or is flagged labelled ("no sky here"): AnnotationSet.is_labelled."""
        image_id = self.image_id(path)
        return image_id is not None and self.labels.is_labelled(image_id)

    # --- open / close ------------------------------------------------------------
    def open(self, path: str | Path) -> bool:
        """Open a project folder, a COCO/Label Studio file or one image. False if cancelled."""
        path = Path(path).expanduser()
        if not path.exists():
            raise ProjectError(f"{path} does not exist: choose a project folder, a COCO file or an image")
        lone_image = path.is_file() and path.suffix.lower() not in (".json", ".xml")
        if lone_image and self.project is not None:
            # header only: an unreadable, unsupported or huge file is refused with its own
            # message before the open project is closed (otherwise the loader reports it)
            probe_image(path)
        if not self.maybe_close():
            return False
        if lone_image:
            self._set(project=None, labels=None, images=[path], source=path)
            self.opened.emit()
            return True
        project = Project.open(path)
        result, restored, deferred = self._labels_with_recovery(project)
        self._set(project, result.labels, list(project.image_paths()), path)
        self._deferred_recovery = deferred
        self.warnings = list(result.warnings)
        self.mark_restored(restored)
        self.opened.emit()
        return True

    def _labels_with_recovery(self, project: Project):
        answer = None
        if project.has_recovery():
            answer = self.ask(
                "recover",
                "This project has autosaved edits that were never saved (the program may have "
                "closed unexpectedly). Restore them?",
            )
            if answer == "restore":
                result = project.recover()
                self._warn(result.warnings)
                self.message.emit("Restored the autosaved edits; save (Ctrl+S) to keep them.")
                return result, True, False
            if answer == "discard":
                project.discard_recovery()
        result = project.load_labels()
        self._warn(result.warnings)
        return result, False, answer == "later"

    def _keep_deferred_recovery(self) -> None:
        """Before this session autosaves, saves or discards: the crash's autosave the user
        chose to decide on later would be overwritten or dropped, so keep it under its own
        name (labels.recovered-<time>.json, a COCO file that File > Open Label File opens)."""
        if not self._deferred_recovery or self.project is None:
            return
        source = self.project.autosave_path
        self._deferred_recovery = False
        if not source.exists():
            return
        stem = f"{self.project.labels_path.stem}.recovered-{time.strftime('%Y%m%d-%H%M%S')}"
        kept, n = source.with_name(f"{stem}.json"), 1
        while kept.exists():
            n += 1
            kept = source.with_name(f"{stem}-{n}.json")
        try:
            os.replace(source, kept)  # a rename: atomic, nothing rewritten
        except OSError as exc:
            self._deferred_recovery = True
            raise ProjectError(
                f"cannot keep the earlier autosaved edits ({exc.strerror or exc}): move "
                f"{source.name} out of {source.parent} yourself, or open the project again to restore it"
            ) from exc
        self.message.emit(f"Kept the earlier autosaved edits as {kept.name} (File > Open Label File opens it)")

    def _warn(self, warnings) -> None:
        if warnings:
            self.message.emit(f"{len(warnings)} label warning(s): {warnings[0]}")

    def _set(self, project, labels, images, source) -> None:
        self.project, self.labels, self.images, self.source = project, labels, images, source
        self.warnings = []
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._autosaved_state = None
        self._restored = False
        self._deferred_recovery = False
        self._update_dirty()

    def maybe_close(self) -> bool:
        """Ask about unsaved edits. True when it is fine to close or switch."""
        if not self.dirty:
            return True
        answer = self.ask("unsaved", "The labels have unsaved edits. Save them first?")
        if answer == "save":
            return self.save()
        if answer == "discard":
            if self.project is not None:
                self._keep_deferred_recovery()
                self.project.discard_recovery()
            self.undo_stack.setClean()
            self.mark_restored(False)
            return True
        return False

    # --- save ------------------------------------------------------------------
    def save(self) -> bool:
        """Atomic save of the labels (the previous file is kept as labels.json.bak)."""
        if self.project is None or self.labels is None:
            raise ProjectError(
                "there is no label file to save to: open a project folder or a COCO file "
                "(File > Open project) to label images"
            )
        self._keep_deferred_recovery()
        self.project.save_labels(self.labels)
        self.project.discard_recovery()
        self.undo_stack.setClean()
        self.mark_restored(False)
        self._autosaved_state = None
        self.message.emit(f"Saved {self.project.labels_path.name}")
        return True

    def autosave(self) -> bool:
        """Write the autosave file if there are edits it does not hold yet."""
        if self.project is None or self.labels is None or not self.dirty:
            return False
        state = (self.undo_stack.index(), self._restored)
        if state == self._autosaved_state:
            return False  # the autosave already holds exactly these labels
        try:
            self._keep_deferred_recovery()
            self.project.autosave(self.labels)
        except SkysegError as exc:
            self.message.emit(f"Autosave failed: {exc}")
            return False
        self._autosaved_state = state
        self.message.emit("Autosaved")
        return True
