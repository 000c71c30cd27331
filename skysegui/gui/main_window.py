"""The main window. It composes: menus, toolbar, docks, status bar; the parts do the work.

Later panels (training, prediction) plug in with add_panel(); a prediction reaches the
prediction overlay through set_prediction(). `fullyLoaded` fires when the opened image is
rendered from full resolution and its labels are drawn (screenshot mode and tests wait on it).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QUndoView,
    QWidget,
)

from skysegui import __version__
from skysegui.core.errors import EditError, ProjectError, SkysegError
from skysegui.core.tonemap import auto_exposure
from skysegui.gui.actions import build_actions, shortcuts_dialog
from skysegui.gui.editing.commands import EditCommand, mark_no_sky
from skysegui.gui.editing.editor import LabelEditor
from skysegui.gui.gui_thread_gc import install_gui_thread_gc
from skysegui.gui.label_export import EXPORTS, LabelExport
from skysegui.gui.learning import LearningPanels
from skysegui.gui.messages import show_error
from skysegui.gui.panels.image_list import ImageList
from skysegui.gui.panels.layers_panel import LayersPanel
from skysegui.gui.panels.tone_panel import TonePanel
from skysegui.gui.session import Ask, Session, message_box_ask
from skysegui.gui.settings import AppSettings
from skysegui.gui.status_bar import StatusBar
from skysegui.gui.tone_keys import connect_tone_keys
from skysegui.gui.viewer.image_view import ImageView
from skysegui.gui.viewer.label_mask import LabelMaskRenderer
from skysegui.gui.viewer.pixmaps import to_pixmap
from skysegui.gui.viewer.readout import read_pixel
from skysegui.gui.workers.load_worker import ImageLoader, LoadedImage, ThumbnailLoader

LABEL_REFRESH_MS = 120
TOOL_SHORT_NAMES = {
    "select": "Select", "polygon": "Polygon", "hole": "Hole",
    "object": "Object", "brush": "Brush", "eraser": "Eraser",
}


def _repair_note(info) -> str:
    """', repaired 12 NaN, 506 negative values' when reading had to sanitise pixels."""
    parts = [
        f"{n} {what}"
        for n, what in ((info.sanitised_nan, "NaN"), (info.sanitised_inf, "Inf"), (info.sanitised_negative, "negative"))
        if n
    ]
    return f", repaired {', '.join(parts)} values" if parts else ""


def _delete_when_idle(dialog) -> None:
    """Delete a closed export dialog once its threads have ended. Each File > Export makes
    a new dialog as the window's child; kept, they piled up with their preview images and
    labels (one per export, found by benchmarks/bench_soak.py)."""
    if not shiboken6.isValid(dialog):
        return
    if dialog.is_busy():
        QTimer.singleShot(500, lambda: _delete_when_idle(dialog))
    else:
        dialog.release()  # its finished workers, which hold it from C++ (ExportDialog.release)
        dialog.deleteLater()


def _set_checked_quietly(action, on: bool) -> None:
    action.blockSignals(True)
    action.setChecked(on)
    action.blockSignals(False)


class MainWindow(QMainWindow):
    fullyLoaded = Signal()
    imageShown = Signal(object)  # Path of the image now in the viewer

    def __init__(self, settings: AppSettings | None = None, ask: Ask | None = None, parent=None):
        super().__init__(parent)
        install_gui_thread_gc()  # before any TensorFlow thread can start: see gui_thread_gc.py
        self.setWindowTitle("SkySeg GUI")
        self.setAcceptDrops(True)
        self.resize(1600, 960)
        self.settings = settings or AppSettings()
        self.undo_stack = QUndoStack(self)
        self.session = Session(self.undo_stack, ask or message_box_ask(self), self)
        self.loader = ImageLoader(self)
        self.label_masks = LabelMaskRenderer(self)
        self.thumbnails = ThumbnailLoader(self)
        self._thumbnails_wanted = False
        self.view = ImageView(self)
        self.setCentralWidget(self.view)
        self.editor = LabelEditor(self.view, self.undo_stack)
        self.view.watch_cursor_first()  # the pixel readout follows the cursor in every tool
        self.tone_panel = TonePanel(self.settings.tone())
        self.view.set_tone(self.tone_panel.settings)
        self.layers_panel = LayersPanel(self.view.overlays())
        self.image_list = ImageList()
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self.actions = build_actions(self)
        self.current: LoadedImage | None = None
        self.current_path: Path | None = None
        self._awaiting_full = False
        self._label_timer = QTimer(self, singleShot=True, interval=LABEL_REFRESH_MS)
        self._label_timer.timeout.connect(self.refresh_label_overlay)
        self._export_handler = None

        self.docks = {
            "images": self.add_panel("Images", self.image_list, Qt.DockWidgetArea.LeftDockWidgetArea),
            "tone": self.add_panel("Tone Map", self.tone_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "layers": self.add_panel("Layers", self.layers_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            "history": self.add_panel("History", self._history_view(), Qt.DockWidgetArea.RightDockWidgetArea),
        }
        self._build_menus()
        self._connect()
        self.learning = LearningPanels(self)
        self._layout_restored = False  # done at the first show, after every add_panel
        self.status.set_zoom(self.view.zoom)
        self.status.hint("Open a project folder, a COCO file or an image (File menu or Ctrl+O)")

    # --- composition -----------------------------------------------------------
    def add_panel(self, title: str, widget: QWidget, area=Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Dock a panel (training, prediction...); it is listed in View > Panels."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        if hasattr(self, "panels_menu"):
            self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    def _history_view(self) -> QUndoView:
        view = QUndoView(self.undo_stack)
        view.setEmptyLabel("Opened (no edits yet)")
        return view

    def _build_menus(self) -> None:
        a = self.actions
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcuts(["Ctrl+Z"])
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts(["Ctrl+Shift+Z", "Ctrl+Y"])
        self.undo_action, self.redo_action = undo, redo
        undo.setIconText("Undo")
        redo.setIconText("Redo")
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a.open_project, a.open_coco, a.open_image])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        file_menu.addActions([a.save, a.save_as, a.save_copy, a.export])
        self.label_export = LabelExport(self)
        export_labels = file_menu.addMenu("Export &Labels As")
        for name in EXPORTS:
            export_labels.addAction(self.actions.by_name[name])
            self.actions.by_name[name].triggered.connect(lambda _=False, n=name: self.label_export.ask(n))
        file_menu.addSeparator()
        file_menu.addAction(a.quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([undo, redo])
        view_menu = bar.addMenu("&View")
        view_menu.addActions([a.fit, a.zoom_100, a.zoom_in, a.zoom_out])
        view_menu.addSeparator()
        view_menu.addActions([a.wrap, a.half_swap])
        view_menu.addSeparator()
        view_menu.addActions([a.toggle_labels, a.toggle_prediction, a.auto_exposure])
        connect_tone_keys(self, view_menu)  # tev's exposure/offset/reset/normalise keys
        view_menu.addSeparator()
        view_menu.addActions([a.next_image, a.previous_image])
        self.panels_menu = view_menu.addMenu("&Panels")
        for dock in self.docks.values():
            self.panels_menu.addAction(dock.toggleViewAction())
        tools_menu = bar.addMenu("&Tools")
        toolbar = QToolBar("Tools", self)
        toolbar.setObjectName("toolbar_main")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([a.open_project, a.save])
        toolbar.addSeparator()
        toolbar.addActions([undo, redo])
        toolbar.addSeparator()
        editor_actions = self.editor.actions()
        tools = [x for x in editor_actions if x.isCheckable()]
        tools_menu.addActions(tools)
        edit_menu.addSeparator()
        edit_menu.addActions([x for x in editor_actions if not x.isCheckable() and not x.isSeparator()])
        edit_menu.addSeparator()
        edit_menu.addAction(a.mark_no_sky)
        for action in tools:
            action.setIconText(TOOL_SHORT_NAMES.get(action.data(), action.iconText()))
        toolbar.addActions(tools)
        toolbar.addSeparator()
        tools_menu.addSeparator()
        tools_menu.addActions([a.train, a.predict_current, a.predict_all, a.auto_sky, a.auto_sky_all])
        tools_menu.addAction(a.accept_prediction)
        tools_menu.addAction(a.sort_by_uncertainty)
        toolbar.addActions([a.fit, a.zoom_100, a.half_swap, a.auto_exposure])
        toolbar.addSeparator()
        toolbar.addAction(a.auto_sky)  # one click to a sky mask, with no model
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([a.shortcuts, a.about])
        for action in self.actions.by_name.values():
            self.addAction(action)  # shortcuts work even when a menu is hidden
        self.addActions([undo, redo])

    def _connect(self) -> None:
        a, v = self.actions, self.view
        a.open_project.triggered.connect(lambda: self._ask_open("project"))
        a.open_coco.triggered.connect(lambda: self._ask_open("coco"))
        a.open_image.triggered.connect(lambda: self._ask_open("image"))
        a.save.triggered.connect(self.save)
        a.save_as.triggered.connect(lambda: self.save_as())
        a.save_copy.triggered.connect(lambda: self.save_copy())
        a.export.triggered.connect(self._export)
        a.quit.triggered.connect(self.close)
        a.fit.triggered.connect(v.fit)
        a.zoom_100.triggered.connect(v.zoom_100)
        a.zoom_in.triggered.connect(lambda: v.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: v.zoom_by(0.8))
        a.wrap.toggled.connect(v.set_wrap)
        a.half_swap.toggled.connect(v.set_half_swap)
        v.halfSwapChanged.connect(lambda on: _set_checked_quietly(a.half_swap, on))
        a.toggle_labels.toggled.connect(lambda on: self.layers_panel.rows["labels"].set_style(visible=on))
        a.toggle_prediction.toggled.connect(
            lambda on: self.layers_panel.rows["prediction"].set_style(visible=on)
        )
        self.layers_panel.styleChanged.connect(self._sync_layer_actions)
        a.auto_exposure.triggered.connect(self.auto_exposure)
        a.mark_no_sky.triggered.connect(self.mark_no_sky)
        a.next_image.triggered.connect(lambda: self._step_image(1))
        a.previous_image.triggered.connect(lambda: self._step_image(-1))
        a.about.triggered.connect(self._about)
        a.shortcuts.triggered.connect(self.show_shortcuts)
        self.tone_panel.settingsChanged.connect(v.set_tone)
        self.tone_panel.autoRequested.connect(self.auto_exposure)
        v.zoomChanged.connect(self.status.set_zoom)
        v.cursorMoved.connect(self._show_pixel)
        v.cursorLeft.connect(lambda: self.status.set_pixel(None))
        v.rendered.connect(self._on_rendered)
        self.loader.previewReady.connect(v.set_preview)
        self.loader.fullResolution.connect(self._on_full_res)
        self.label_masks.maskReady.connect(self._show_label_mask)
        self.thumbnails.thumbnailReady.connect(
            lambda path, rgb: self.image_list.set_thumbnail(path, to_pixmap(rgb))
        )
        self.thumbnails.thumbnailProblem.connect(self.image_list.set_problem)  # a sign on damaged rows
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.image_list.imageActivated.connect(self.show_image)
        self.session.dirtyChanged.connect(self._update_title)
        self.session.message.connect(lambda text: self.status.hint(text, 6000))
        self.session.opened.connect(self._on_opened)
        self.session.labelsReplaced.connect(self._on_labels_replaced)
        self.editor.changed.connect(self._labels_edited)
        self.editor.statusMessage.connect(lambda text: self.status.hint(text, 8000))
        self.editor.toolChanged.connect(lambda name: self.status.hint(f"Tool: {name}", 3000))

    # --- opening ---------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open a project folder, a COCO file or an image; errors become messages."""
        try:
            if not self.session.open(path):
                return False
        except SkysegError as exc:
            show_error(self, exc)
            return False
        self.settings.add_recent(path)
        return True

    def _ask_open(self, kind: str) -> None:
        if kind == "project":
            path = QFileDialog.getExistingDirectory(self, "Open project folder")
        else:
            pattern = (
                "Label files: COCO, Label Studio, labelme, CVAT (*.json *.xml)"
                if kind == "coco"
                else "Images (*.exr *.hdr *.tif *.tiff *.png *.jpg *.jpeg)"
            )
            path, _ = QFileDialog.getOpenFileName(self, "Open", "", pattern)
        if path:
            self.open_path(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent()
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _on_opened(self) -> None:
        s = self.session
        self.status.set_warnings(s.warnings)
        self.thumbnails.cancel()
        self._thumbnails_wanted = len(s.images) > 1
        self.image_list.set_images([(p, s.is_labelled(p)) for p in s.images])
        self._update_title()
        self.current_path = None
        if s.images:
            self.show_image(s.images[0])
        else:
            self.view.clear()
            folder = s.project.images_dir if s.project is not None else None
            where = f" (looked in {folder})" if folder is not None else ""
            self.status.hint(
                f"No panoramas found{where}: put the images in that folder or beside the JSON file", 15000
            )

    def show_image(self, path: str | Path) -> None:
        """Switch the viewer to this image (autosaves edits first)."""
        path = Path(path)
        if self.current_path is not None and path != self.current_path:
            self.session.autosave()
        self.current_path = path
        self.current = None
        self._awaiting_full = False
        self.image_list.set_current(path)
        self.editor.set_labels(None, None)
        self.label_masks.cancel()
        self.view.label_overlay.set_mask(None)
        self.view.prediction_overlay.set_mask(None)  # a prediction belongs to one image
        self.status.hint(f"Loading {path.name}...")
        self.loader.load(path, self.tone_panel.settings)

    def _on_full_res(self, loaded: LoadedImage) -> None:
        """Level 0 is decoded: pixel readout, labels and editing work from now on."""
        self.current = loaded
        self.view.set_pyramid(loaded.pyramid, complete=False)
        self.view.set_preview_linear(loaded.preview)
        self.status.set_dynamic_range(loaded.stops, loaded.low, loaded.high)
        image_id = self.session.image_id(loaded.path)
        self.editor.set_labels(self.session.labels, image_id)
        self.refresh_label_overlay()
        info = loaded.image.info
        self.status.set_primaries(info)
        repaired = _repair_note(info)
        self.status.hint(f"{loaded.path.name}: {info.width} x {info.height}, {info.source_type}{repaired}", 8000)
        image_warnings = [f"{loaded.path.name}{repaired}"] if repaired else []
        if info.decoder_note:  # e.g. a damaged JPEG that still decoded
            image_warnings.append(info.decoder_note)
        self.status.set_warnings(self.session.warnings + image_warnings)
        self.imageShown.emit(loaded.path)

    def _on_loaded(self, loaded: LoadedImage) -> None:
        """The display pyramid is complete: zoomed-out views are now smooth."""
        if loaded is not self.current:
            self._on_full_res(loaded)
        self.view.set_pyramid(loaded.pyramid, complete=True)
        self._awaiting_full = True

    def _on_load_failed(self, exc: Exception) -> None:
        self.status.hint("")
        self.status.set_primaries(None)
        self.view.clear()  # no stale picture of the previous image under the new name
        show_error(self, exc, "Cannot open image")

    def _on_rendered(self) -> None:
        self._check_fully_loaded()

    def _check_fully_loaded(self) -> None:
        """fullyLoaded once the complete pyramid is on screen and the labels are drawn."""
        if (
            self._awaiting_full
            and self.current is not None
            and self.view.fully_rendered
            and not self.label_masks.pending
        ):
            self._awaiting_full = False
            if self._thumbnails_wanted:  # after the first image, so they do not slow it down
                self._thumbnails_wanted = False
                self.thumbnails.load(self.session.images, self.tone_panel.settings)
            self.fullyLoaded.emit()

    @property
    def is_fully_loaded(self) -> bool:
        return self.current is not None and not self._awaiting_full and self.view.fully_rendered

    # --- labels ----------------------------------------------------------------
    def refresh_label_overlay(self) -> None:
        """Rasterise the current image's sky labels into the label overlay (big images in a worker)."""
        self._label_timer.stop()
        s = self.session
        image_id = None if self.current is None else s.image_id(self.current.path)
        if image_id is None:
            self.label_masks.cancel()
            self.view.label_overlay.set_mask(None)
            return
        self.label_masks.request(s.labels, image_id, self.view.label_overlay.style.color)

    def _show_label_mask(self, mask, factor: int, colored=None) -> None:
        if self.current is None:
            return
        w, h = self.current.width, self.current.height
        mw, mh = mask.shape[1] * factor, mask.shape[0] * factor
        if not (w <= mw < w + factor and h <= mh < h + factor):
            self.status.hint(
                f"the labels of {self.current.path.name} are for a {mw} x {mh} image but the "
                f"file is {w} x {h}: the overlay may be misplaced", 10000
            )
        self.view.label_overlay.set_mask(mask, factor, colored)
        self._check_fully_loaded()

    def _labels_edited(self) -> None:
        self._label_timer.start()
        if self.current is not None:
            self.image_list.set_labelled(self.current.path, self.session.is_labelled(self.current.path))

    def mark_no_sky(self) -> bool:
        """Edit > No Sky in This Image: the shown image's polygons removed (its unsure regions
        stay) and the image flagged labelled ("skysegui_labelled"), one undo step. Returns
        whether it was done."""
        s = self.session
        if self.current is None:
            what = "wait until it is loaded" if self.current_path is not None else "open one first"
            self.status.hint(f"No image to mark: {what}", 6000)
            return False
        image_id = s.image_id(self.current.path)
        if image_id is None:
            self.status.hint("This image has no labels: open its project folder (or COCO file) to label it", 6000)
            return False
        if s.labels.is_labelled(image_id) and not s.labels.answer_ids(image_id):
            self.status.hint("Already labelled: no sky", 4000)
            return False
        try:
            edit = mark_no_sky(s.labels, image_id)
            self.undo_stack.push(EditCommand(self.editor, s.labels, image_id, edit, edit.text))
        except EditError as exc:
            show_error(self, exc)
            return False
        self.image_list.set_labelled(self.current.path, s.is_labelled(self.current.path))
        self.status.hint("Marked as labelled: no sky (Ctrl+Z undoes)", 8000)
        return True

    def save(self) -> bool:
        try:
            return self.session.save()
        except SkysegError as exc:
            show_error(self, exc, "Cannot save")
            return False
        finally:
            self._update_title()  # a read-only window may now hold the project

    def save_as(self, path: str | Path | None = None) -> bool:
        """File > Save Labels As...: a new COCO file, which the window then works on."""
        path = path or self._ask_save_path("Save labels as")
        if not path:
            return False
        try:
            ok = self.session.save_as(path)
        except SkysegError as exc:
            show_error(self, exc, "Cannot save")
            return False
        self._update_title()
        return ok

    def save_copy(self, path: str | Path | None = None) -> bool:
        """File > Save a Copy...: the labels into another file; nothing else changes."""
        path = path or self._ask_save_path("Save a copy of the labels")
        if not path:
            return False
        try:
            self.session.save_copy(path)
        except SkysegError as exc:
            show_error(self, exc, "Cannot save")
            return False
        return True

    def _ask_save_path(self, title: str) -> str:
        project = self.session.project
        start = str(project.labels_path.with_name(project.labels_path.stem + "-copy.json")) if project else ""
        path, _ = QFileDialog.getSaveFileName(self, title, start, "COCO label file (*.json)")
        if path and not path.lower().endswith(".json"):
            path += ".json"
        return path

    def _on_labels_replaced(self) -> None:
        """The labels were reloaded or merged from disk: show them again."""
        s = self.session
        image_id = None if self.current is None else s.image_id(self.current.path)
        self.editor.set_labels(s.labels, image_id)
        self.refresh_label_overlay()
        for path in s.images:
            self.image_list.set_labelled(path, s.is_labelled(path))
        self._update_title()

    def set_prediction(self, mask_or_prob, scale: int = 1) -> None:
        """Show a prediction of the current image (0/1 mask or probability map), each of
        its pixels covering scale x scale image pixels."""
        self.layers_panel.set_prediction(mask_or_prob, scale=scale)

    def set_export_handler(self, handler) -> None:
        """File > Export... calls handler(window) (the export panel registers itself here)."""
        self._export_handler = handler

    def _export(self) -> None:
        if self._export_handler is not None:
            self._export_handler(self)
            return
        if self.session.project is None:
            show_error(self, ProjectError("export works on a project: open a project folder or a COCO file first"))
            return
        if self.session.dirty:  # the export reads the saved labels (the save is atomic, .bak kept)
            if not self.save():
                return
            self.status.hint("Saved the labels before exporting", 6000)
        from skysegui.gui.dialogs.export_dialog import ExportDialog

        # the labels as saved, frozen: the dialog reads them in its threads without touching
        # the project's record of labels.json (which guards the next save against other writers)
        project = self.session.project
        if self.session.labels is not None:
            project = project.snapshot(self.session.labels)
        dialog = ExportDialog(project, self.current_path, self.tone_panel.settings, self)
        dialog.finished.connect(lambda _code, d=dialog: _delete_when_idle(d))
        dialog.open()

    # --- view helpers ----------------------------------------------------------
    def auto_exposure(self) -> None:
        if self.current is None:
            return
        ev = float(auto_exposure(self.current.preview.astype("float32")))
        self.tone_panel.set_settings(replace(self.tone_panel.settings, exposure=round(ev, 2)))

    def _show_pixel(self, x: float, y: float) -> None:
        pixels = self.view.full_resolution_pixels()
        self.status.set_pixel(read_pixel(pixels, x, y))

    def _sync_layer_actions(self, name: str, style) -> None:
        action = self.actions.toggle_labels if name == "labels" else self.actions.toggle_prediction
        _set_checked_quietly(action, style.visible)

    def _step_image(self, step: int) -> None:
        paths = self.image_list.visible_paths()
        if not paths:
            return
        index = paths.index(self.current_path) if self.current_path in paths else -1
        self.show_image(paths[(index + step) % len(paths)])

    def _update_title(self, *_args) -> None:
        name = "" if self.session.source is None else f" - {self.session.source.name}"
        read_only = " [read-only]" if self.session.read_only else ""
        self.setWindowTitle(f"SkySeg GUI{name}{read_only}{' *' if self.session.dirty else ''}")

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About SkySeg GUI",
            f"<b>SkySeg GUI {__version__}</b><p>Sky masks for 360-degree HDR panoramas: view, "
            "label, train, predict, review, export.</p>",
        )

    def show_shortcuts(self) -> QDialog:
        actions = list(self.actions.by_name.values()) + [self.undo_action, self.redo_action]
        actions += self.editor.actions()
        return shortcuts_dialog(self, actions)

    # --- drag and drop ---------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_path(paths[0])

    # --- layout and closing ---------------------------------------------------------
    def _default_layout(self) -> None:
        d = self.docks
        self.resizeDocks([d["images"], d["tone"]], [260, 300], Qt.Orientation.Horizontal)
        self.resizeDocks([d["tone"], d["layers"], d["history"]], [170, 230, 400], Qt.Orientation.Vertical)

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_geometry(), self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._layout_restored:
            self._layout_restored = True
            self._default_layout()
            self._restore_layout()

    def closeEvent(self, event) -> None:
        try:
            ok = self.session.maybe_close()
        except SkysegError as exc:
            show_error(self, exc, "Cannot save")
            ok = False
        if not ok:
            event.ignore()
            return
        self.learning.shutdown()
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.save_tone(self.tone_panel.settings)
        self.settings.sync()
        self._drain_workers()
        self.session.autosave_timer.stop()
        self.session.close_project()  # the project's lock goes back
        self._detach_editor()  # closing the main window ends the program
        event.accept()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.DeferredDelete:
            self._detach_editor()
            self._drain_workers()
        return super().event(event)

    def _drain_workers(self) -> None:
        """Let the loaders' background tasks end (on close, and before the window is
        destroyed): a thread
        pool's C++ destructor waits for its tasks while this thread holds the interpreter
        lock those tasks need (a deadlock seen in the suite). Waiting from Python releases
        the lock while it waits."""
        self.thumbnails.cancel()
        for worker in (self.loader, self.label_masks, self.label_export):
            worker.wait(5000)
        self.thumbnails.wait(10000)

    def _detach_editor(self) -> None:
        """The editor must not filter events of a view that is being destroyed."""
        self.view.viewport().removeEventFilter(self.editor)
        self.view.removeEventFilter(self.editor)
