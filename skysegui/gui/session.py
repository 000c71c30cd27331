"""The open project and its labels: open, save, autosave, recovery, unsaved-edit questions.

Dirty = the undo stack is not at its clean index (or labels were restored from an autosave).
Questions go through `ask(kind, text) -> answer` so tests can answer them; the default asks
with a QMessageBox. Kinds and answers:
  "recover": "restore" | "discard" | "later"   (autosaved edits found when opening)
  "unsaved": "save" | "discard" | "cancel"     (closing or switching with unsaved edits)
  "locked":  "read-only" | "anyway" | "cancel" (another window or command has the project open)
  "changed": "reload" | "merge" | "copy" | "cancel"  (saving, but another program saved the
             labels since they were loaded here)
  "conflict": "mine" | "theirs" | "cancel"     (merging: both changed the same image)

Two windows on one project: the first holds the project's lock (core.project_lock); the
second opens it read-only or, when the user says so, writable without the lock, and then
autosaves to a file of its own. Every save checks that the labels file is still what was
loaded here (core.project.LabelsChangedError) and asks before anything is overwritten.
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

from skysegui.core.annotations import save_coco
from skysegui.core.annotations.merge import image_digests, merge_into
from skysegui.core.errors import ProjectError, SkysegError
from skysegui.core.imageio import probe_image
from skysegui.core.project import (
    LabelsChangedError,
    Project,
    autosave_of,
    own_autosave_path,
    unique_path,
)
from skysegui.core.project_lock import HEARTBEAT_S, ProjectLock

AUTOSAVE_MS = 60_000
Ask = Callable[[str, str], str]


#: kind -> (answer, button text, role) of the questions asked with buttons of their own
CHOICES = {
    "locked": (("read-only", "Open Read-Only", QMessageBox.ButtonRole.AcceptRole),
               ("anyway", "Open Anyway", QMessageBox.ButtonRole.DestructiveRole),
               ("cancel", "Cancel", QMessageBox.ButtonRole.RejectRole)),
    "changed": (("merge", "Merge (Image by Image)", QMessageBox.ButtonRole.AcceptRole),
                ("reload", "Reload (Drop My Edits)", QMessageBox.ButtonRole.DestructiveRole),
                ("copy", "Save Mine as a Copy", QMessageBox.ButtonRole.ActionRole),
                ("cancel", "Cancel", QMessageBox.ButtonRole.RejectRole)),
    "conflict": (("mine", "Keep Mine", QMessageBox.ButtonRole.AcceptRole),
                 ("theirs", "Take Theirs", QMessageBox.ButtonRole.DestructiveRole),
                 ("cancel", "Cancel the Merge", QMessageBox.ButtonRole.RejectRole)),
}


def message_box_ask(parent: QWidget | None) -> Ask:
    """The interactive answerer: a modal QMessageBox per question."""

    def ask(kind: str, text: str) -> str:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("SkySeg GUI")
        box.setText(text)
        if kind in CHOICES:
            buttons = {box.addButton(label, role): answer for answer, label, role in CHOICES[kind]}
            box.setDefaultButton(next(iter(buttons)))
            box.exec()
            return buttons.get(box.clickedButton(), "cancel")
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


class _MergeCancelled(Exception):
    pass


class Session(QObject):
    """What is open. The window shows it; this class decides nothing about widgets."""

    opened = Signal()  # a project or an image was opened (image list, labels changed)
    labelsReplaced = Signal()  # the labels were reloaded or merged from disk (same object)
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
        self.lock: ProjectLock | None = None  # the project's lock, when this session holds it
        self.read_only = False  # opened read-only: another window or command holds the lock
        self._base: dict[str, str] = {}  # image_digests of the labels file as loaded (merges)
        undo_stack.cleanChanged.connect(self._update_dirty)
        undo_stack.indexChanged.connect(self._update_dirty)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.lock_timer = QTimer(self)  # the lock's heartbeat
        self.lock_timer.setInterval(int(HEARTBEAT_S * 1000))
        self.lock_timer.timeout.connect(self._heartbeat)
        self.lock_timer.start()

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
        lock, read_only = self._lock(project)
        if lock is None and not read_only and self._lock_question_cancelled:
            return False
        try:
            if lock is not None:
                result, restored, deferred = self._labels_with_recovery(project)
            else:
                # the holder's autosave is theirs, alive: never offered, never touched here
                project.autosave_path = own_autosave_path(project.autosave_path)
                result, restored, deferred = project.load_labels(), False, False
                self._warn(result.warnings)
        except BaseException:
            if lock is not None and lock is not self.lock:
                lock.release()
            raise
        self._set(project, result.labels, list(project.image_paths()), path)
        self.lock, self.read_only = lock, read_only
        self._base = self._disk_digests(project) if restored else image_digests(result.labels)
        self._deferred_recovery = deferred
        self.warnings = list(result.warnings)
        if read_only:
            self.message.emit("Opened read-only: another window has this project open "
                              "(File > Save Labels As... keeps your edits elsewhere)")
        self.mark_restored(restored)
        self.opened.emit()
        return True

    def _lock(self, project: Project) -> tuple[ProjectLock | None, bool]:
        """(the lock now held for `project` or None, whether to open read-only)."""
        self._lock_question_cancelled = False
        if self.lock is not None and self.lock.root.resolve() == project.root.resolve() and self.lock.still_held():
            return self.lock, False  # opened again in this window: the lock is already ours
        lock = ProjectLock(project.root)
        if lock.acquire():
            return lock, False
        holder = lock.holder()
        who = holder.describe() if holder is not None else "another program"
        answer = self.ask(
            "locked",
            f"This project is already open in {who}. If both save, edits can collide "
            "(you will be asked before anything is overwritten). Open it read-only, open it "
            "anyway, or cancel?",
        )
        if answer == "cancel":
            self._lock_question_cancelled = True
            return None, False
        return None, answer == "read-only"

    def _disk_digests(self, project: Project) -> dict[str, str]:
        """image_digests of the labels file on disk (the base a recovered autosave began from)."""
        if not project.labels_path.exists():
            return {}
        try:
            return image_digests(project.load_on_disk().labels)
        except SkysegError:
            return {}

    def _heartbeat(self) -> None:
        if self.lock is not None:
            self.lock.refresh()

    def close_project(self) -> None:
        """The window closes: give the project's lock back (edits were dealt with before)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

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
        if self.lock is not None and (project is None or self.lock.root.resolve() != project.root.resolve()):
            self.lock.release()
        self.lock, self.read_only, self._base = None, False, {}
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
        if self.read_only and not self._take_lock():
            raise ProjectError(
                "this project was opened read-only because another window or command has it "
                "open: keep your edits with File > Save Labels As... or Save a Copy..., or "
                "save again once the other window is closed"
            )
        self._keep_deferred_recovery()
        try:
            self.project.save_labels(self.labels)
        except LabelsChangedError as exc:
            return self._resolve_change(str(exc))
        self._saved()
        self.message.emit(f"Saved {self.project.labels_path.name}")
        return True

    def _take_lock(self) -> bool:
        """A read-only session whose other window has closed can save after all."""
        lock = ProjectLock(self.project.root)
        if not lock.acquire():
            return False
        self.lock, self.read_only = lock, False
        self.project.autosave_path = autosave_of(self.project.labels_path)
        self.message.emit("The other window has closed: this window now holds the project")
        return True

    def _saved(self) -> None:
        self.project.discard_recovery()
        self.undo_stack.setClean()
        self.mark_restored(False)
        self._autosaved_state = None
        self._base = image_digests(self.labels)

    def _resolve_change(self, text: str) -> bool:
        """Another program saved the labels since they were loaded here: ask, never overwrite."""
        answer = self.ask("changed", text[:1].upper() + text[1:] + ".")
        if answer == "reload":
            return self.reload()
        if answer == "merge":
            return self.merge()
        if answer == "copy":
            kept = self.save_copy(unique_path(self.project.labels_path, "mine"))
            self.undo_stack.setClean()
            self.mark_restored(False)
            self.message.emit(f"Your labels were saved as {kept.name}; {self.project.labels_path.name} "
                              "keeps the other program's version")
            return True
        self.message.emit("Not saved: the labels file was changed by another program")
        return False

    def reload(self) -> bool:
        """Drop this window's edits and show the labels file as it is on disk now."""
        result = self.project.load_labels()
        self._replace_labels(result.labels)
        self._saved()
        self._warn(result.warnings)
        self.message.emit(f"Reloaded {self.project.labels_path.name}")
        return True

    def merge(self) -> bool:
        """Merge the labels on disk and this window's edits image by image (the same image
        changed on both sides asks which to keep), then save the result."""
        for _ in range(3):  # someone may save again while we merge: merge once more
            self.project.remember_disk_state()
            theirs = self.project.load_on_disk().labels
            merged = self.labels.copy()
            try:
                result = merge_into(self._base, merged, theirs, self._choose)
            except _MergeCancelled:
                self.message.emit("Merge cancelled: nothing was saved")
                return False
            try:
                self.project.save_labels(merged)
            except LabelsChangedError:
                continue
            self._replace_labels(merged)
            self._saved()
            self.message.emit(
                f"Merged: {len(result.taken)} image(s) from the file on disk, "
                f"{len(result.kept)} of yours, {len(result.conflicts)} conflict(s) decided; saved")
            return True
        raise ProjectError("the labels file keeps changing while merging; try again in a moment")

    def _choose(self, key: str) -> str:
        answer = self.ask(
            "conflict",
            f"The labels of image {key!r} were changed both here and by another program. "
            "Keep yours, or take theirs?")
        if answer not in ("mine", "theirs"):
            raise _MergeCancelled
        return answer

    def _replace_labels(self, new) -> None:
        """Put `new` into the open labels object in place (the editor and panels keep it)."""
        labels = self.labels
        labels.images, labels.annotations = new.images, new.annotations
        labels.categories, labels.extra = new.categories, new.extra
        self.undo_stack.clear()  # its commands refer to the replaced annotations
        self.undo_stack.setClean()
        self.labelsReplaced.emit()

    def save_as(self, path: str | Path) -> bool:
        """Save the labels to a new COCO file and keep working on that file."""
        self._require_labels()
        path = Path(path)
        save_coco(self.labels, path, keep_backup=True)
        project = self.project
        project.labels_path = project.source_path = path
        project.autosave_path = autosave_of(path) if not self.read_only and self.lock is not None \
            else own_autosave_path(autosave_of(path))
        project.remember_disk_state()
        self.read_only = False  # a file of its own: nobody else writes it
        self.source = path
        self._keep_deferred_recovery()
        self._saved()
        self.message.emit(f"Saved as {path.name}")
        return True

    def save_copy(self, path: str | Path) -> Path:
        """Write the labels to another file; the open file and the unsaved state stay."""
        self._require_labels()
        path = Path(path)
        save_coco(self.labels, path, keep_backup=True)
        self.message.emit(f"Saved a copy as {path.name}")
        return path

    def _require_labels(self) -> None:
        if self.project is None or self.labels is None:
            raise ProjectError(
                "there are no labels to save: open a project folder or a COCO file "
                "(File > Open project) to label images"
            )

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
