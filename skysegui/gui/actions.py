"""Every menu action of the window with its shortcut, in one table (the Help list reads it)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

TOOLBAR_TEXT = {
    "open_project": "Open", "save": "Save", "fit": "Fit", "zoom_100": "100 %",
    "half_swap": "Seam", "auto_exposure": "Auto EV", "auto_sky": "Auto Sky",
}
# name: (menu text, shortcuts, status tip, checkable)
ACTION_TABLE: dict[str, tuple[str, tuple[str, ...], str, bool]] = {
    "open_project": ("&Open Project...", ("Ctrl+O",), "Open a project folder (images/ + labels.json)", False),
    "open_coco": ("Open &Label File...", ("Ctrl+Shift+O",), "Open a COCO, Label Studio, labelme or CVAT label file (saved beside it as COCO)", False),
    "open_image": ("Open &Image...", ("Ctrl+Alt+O",), "Open one panorama without labels", False),
    "save": ("&Save Labels", ("Ctrl+S",), "Save the labels (atomic; the previous file is kept as .bak)", False),
    "save_as": ("Save Labels &As...", ("Ctrl+Shift+S",), "Save the labels to another COCO file and go on with that file", False),
    "save_copy": ("Save a &Copy...", (), "Write the labels to another COCO file; the open file stays as it is", False),
    "export": ("&Export...", ("Ctrl+E",), "Export masks, overlays or RGBA EXRs", False),
    "export_label_studio": ("Label Studio Pre-annotations (&Polygons)...", (), "The labels as a Label Studio tasks JSON with predictions (holes as 'non-sky' polygons)", False),
    "export_label_studio_brush": ("Label Studio Pre-annotations (&Brush)...", (), "The labels as a Label Studio tasks JSON with brush masks (its RLE)", False),
    "export_predictions_label_studio": ("Label Studio Pre-annotations of P&redictions...", (), "The saved predictions as Label Studio pre-annotations (model_version, score)", False),
    "export_labelme": ("label&me Folder...", (), "One labelme JSON per labelled image (holes as 'non-sky' shapes)", False),
    "export_cvat": ("&CVAT for Images 1.1 XML...", (), "The labels as CVAT XML (holes as 'non-sky' polygons drawn above)", False),
    "quit": ("&Quit", ("Ctrl+Q",), "Quit (asks first when there are unsaved edits)", False),
    "fit": ("&Fit to Window", ("F",), "Show the whole image", False),
    "zoom_100": ("Actual Pixels (&100 %)", ("Ctrl+1", "1"), "One image pixel per screen pixel", False),
    "zoom_in": ("Zoom &In", ("Ctrl+=", "+", "="), "Zoom in", False),
    "zoom_out": ("Zoom &Out", ("Ctrl+-", "-"), "Zoom out", False),
    "half_swap": ("&Half-Swap (Seam in the Middle)", ("Ctrl+H",), "Put the 360-degree seam in the middle of the view", True),
    "wrap": ("&Wrap Around (360-degree)", ("Shift+W",), "Continue the panorama across its left/right edge", True),
    "toggle_labels": ("Show &Label Overlay", ("L",), "Show or hide the label mask overlay", True),
    "toggle_prediction": ("Show &Prediction Overlay", ("Shift+L",), "Show or hide the prediction overlay", True),
    "auto_exposure": ("&Auto Exposure", ("A",), "Set the exposure from the image", False),
    # tev's keys where the editing tools leave them free (E and O are the eraser and object tools)
    "exposure_up": ("Exposure &Up (+0.5 EV)", ("Shift+R",), "Brighter by half a stop (tev: E)", False),
    "exposure_down": ("Exposure &Down (-0.5 EV)", ("Shift+E",), "Darker by half a stop (as in tev)", False),
    "offset_up": ("Offset U&p (+0.1)", ("Shift+P",), "Add 0.1 to the exposed values (tev: O)", False),
    "offset_down": ("Offset Do&wn (-0.1)", ("Shift+O",), "Subtract 0.1 from the exposed values (as in tev)", False),
    "reset_tone": ("&Reset Exposure, Offset and Gamma", ("R",), "Exposure 0 EV, offset 0, gamma 2.2 (as tev's R)", False),
    "normalise_exposure": ("&Normalise Exposure", ("N",), "Show the image's smallest value as black and its largest as white (as tev's N)", False),
    "mark_no_sky": ("&No Sky in This Image", ("Ctrl+Shift+N",), "Mark the shown image as labelled with no sky (an interior): its polygons are removed (unsure regions stay), undoable; training takes it as a negative", False),
    "next_image": ("&Next Image", ("PgDown",), "Open the next image of the list", False),
    "previous_image": ("P&revious Image", ("PgUp",), "Open the previous image of the list", False),
    "train": ("&Train a Model...", ("Ctrl+T",), "Show the training panel: train a U-Net on the labelled images", False),
    "predict_current": ("&Predict This Image", ("Ctrl+R",), "Predict the sky of the shown image with the chosen model", False),
    "predict_all": ("Predict &All Images", ("Ctrl+Shift+R",), "Predict every image of the project (in the background)", False),
    "auto_sky": ("Auto S&ky (This Image)", ("Ctrl+Shift+K",), "Find the sky of the shown image in one click, without a model or training (accept it with Ctrl+Return)", False),
    "auto_sky_all": ("Auto Sky for A&ll Images", ("Ctrl+Alt+K",), "Auto sky for every image of the project, in the background (no model needed)", False),
    "accept_prediction": ("A&ccept Prediction as Labels", ("Ctrl+Return",), "Replace this image's labels by the prediction's polygons (undoable)", False),
    "sort_by_uncertainty": ("Sort Images by &Uncertainty", ("Ctrl+U",), "Put the images whose predictions hesitate most first", False),
    "about": ("&About SkySeg GUI", (), "About this program", False),
    "shortcuts": ("&Keyboard Shortcuts", ("F1",), "List every shortcut", False),
}


@dataclass
class Actions:
    """The window's own actions by name (editor and undo actions come from their owners)."""

    by_name: dict[str, QAction]

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["by_name"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def build_actions(parent: QWidget) -> Actions:
    actions = {}
    for name, (text, keys, tip, checkable) in ACTION_TABLE.items():
        action = QAction(text, parent)
        action.setObjectName(name)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({keys[0]})" if keys else tip)
        action.setCheckable(checkable)
        if name in TOOLBAR_TEXT:
            action.setIconText(TOOLBAR_TEXT[name])
        actions[name] = action
    for name in ("wrap", "toggle_labels", "toggle_prediction"):
        actions[name].setChecked(True)
    return Actions(actions)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(action text, shortcuts) of every action that has a shortcut, for the Help list."""
    rows = []
    for action in actions:
        keys = action.shortcuts()
        if keys:
            text = action.text().replace("&", "")
            rows.append(
                (text, ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys))
            )
    return rows


MOUSE_ROWS = [
    ("Pan", "Middle drag, Space + drag, drag on empty background"),
    ("Zoom to cursor", "Mouse wheel"),
    ("Insert a vertex", "Click on an edge of the selected polygon"),
    ("Close a polygon, hole or object", "Enter, double-click, or click its first vertex"),
    ("Cancel the polygon being drawn", "Esc"),
    ("Remove the last vertex drawn", "Backspace"),
    ("Brush / eraser size", "[ and ], or Shift + wheel"),
]


def shortcuts_dialog(parent: QWidget, actions: list[QAction]) -> QDialog:
    """Help > Keyboard Shortcuts: every shortcut of `actions` plus the mouse gestures."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = shortcut_rows(actions) + MOUSE_ROWS
    table = QTableWidget(len(rows), 2, dialog)
    table.setHorizontalHeaderLabels(["Action", "Shortcut"])
    for i, (text, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(text))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.verticalHeader().hide()
    QVBoxLayout(dialog).addWidget(table)
    dialog.resize(520, 560)
    dialog.open()
    return dialog
