"""The project's images: name, labelled status, an optional score (uncertainty sorting), filter.

A file the thumbnail worker could not read (or read with decoder complaints) gets a
warning sign in its thumbnail's place (over the thumbnail when there is one) and the
reason in its tooltips, before the user opens it.

Thumbnails are kept at icon size and for at most `thumbnail_limit` images (least recently
set or shown dropped first, never the current one), so a huge project cannot fill the memory.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

PATH_ROLE = Qt.ItemDataRole.UserRole
PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1  # why the file is damaged (status column)
NAME, STATUS, SCORE = 0, 1, 2
THUMB_SIZE = QSize(72, 36)
THUMBNAIL_LIMIT = 2000  # icons of 72 x 36 pixels: about 10 kB each
LABELLED, UNLABELLED = "\u2713", "\u2014"  # check mark, dash


class _Item(QTreeWidgetItem):
    """Sorts the score column numerically (missing scores last)."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else NAME
        if column == SCORE:
            a = self.data(SCORE, PATH_ROLE)
            b = other.data(SCORE, PATH_ROLE)
            a = float("-inf") if a is None else a
            b = float("-inf") if b is None else b
            return a < b
        return self.text(column).lower() < other.text(column).lower()


class ImageList(QWidget):
    """Emits imageActivated(Path) when the user picks an image."""

    imageActivated = Signal(object)
    FILTERS = ("All images", "Labelled", "Unlabelled")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thumbnail_limit = THUMBNAIL_LIMIT
        self._thumbnails: OrderedDict[str, None] = OrderedDict()  # paths with an icon, oldest first
        self._current: str | None = None
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name")
        self.search.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItems(self.FILTERS)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Image", LABELLED, "Score"])
        self.tree.headerItem().setToolTip(STATUS, "labelled?")
        self.tree.setColumnHidden(SCORE, True)  # shown once there are scores
        self.tree.headerItem().setToolTip(SCORE, "e.g. prediction uncertainty: sort to review the worst first")
        self.tree.setRootIsDecorated(False)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.tree.setAlternatingRowColors(True)
        self.tree.setIconSize(QSize(THUMB_SIZE.width(), THUMB_SIZE.height()))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(STATUS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SCORE, QHeaderView.ResizeMode.ResizeToContents)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.status_filter)
        self.setMinimumWidth(260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self._apply_filter)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)

    def set_images(self, images: list[tuple[Path, bool]]) -> None:
        """(path, labelled) of every image of the project."""
        self.tree.clear()
        self._thumbnails.clear()
        self._current = None
        for path, labelled in images:
            item = _Item([Path(path).name, LABELLED if labelled else UNLABELLED, ""])
            item.setTextAlignment(STATUS, Qt.AlignmentFlag.AlignCenter)
            item.setData(NAME, PATH_ROLE, str(path))
            item.setData(STATUS, PATH_ROLE, bool(labelled))
            self._set_tooltips(item)
            self.tree.addTopLevelItem(item)
        self._apply_filter()

    def set_thumbnail(self, path: Path, pixmap: QPixmap) -> None:
        item = self._find(path)
        if item is None:
            return
        ratio = max(1.0, self.devicePixelRatioF())  # sharp on high-DPI screens too
        size = THUMB_SIZE * ratio
        if pixmap.width() > size.width() or pixmap.height() > size.height():
            pixmap = pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.SmoothTransformation)
            pixmap.setDevicePixelRatio(ratio)
        if item.data(STATUS, PROBLEM_ROLE):
            pixmap = self._signed(pixmap)
        item.setIcon(NAME, QIcon(pixmap))
        self._touch_thumbnail(str(Path(path)))

    @property
    def thumbnail_count(self) -> int:
        """How many images hold a thumbnail now (never more than thumbnail_limit)."""
        return len(self._thumbnails)

    def _touch_thumbnail(self, key: str) -> None:
        self._thumbnails[key] = None
        self._thumbnails.move_to_end(key)
        while len(self._thumbnails) > max(1, self.thumbnail_limit):
            oldest = next(k for k in self._thumbnails if k != self._current)
            del self._thumbnails[oldest]
            item = self._find(Path(oldest))
            if item is not None:
                item.setIcon(NAME, QIcon())

    def set_labelled(self, path: Path, labelled: bool) -> None:
        item = self._find(path)
        if item is not None:
            item.setText(STATUS, LABELLED if labelled else UNLABELLED)
            item.setData(STATUS, PATH_ROLE, bool(labelled))
            self._set_tooltips(item)
            self._apply_filter()

    def set_problem(self, path: Path, message: str) -> None:
        """Mark a damaged file's row: a warning sign, and `message` (naming the file and
        what is wrong with it) in the row's tooltips."""
        item = self._find(path)
        if item is None:
            return
        item.setData(STATUS, PROBLEM_ROLE, message)
        thumbnail = item.icon(NAME)
        base = None if thumbnail.isNull() else thumbnail.pixmap(THUMB_SIZE)
        item.setIcon(NAME, QIcon(self._signed(base)))  # in the thumbnail's slot: names stay aligned
        self._set_tooltips(item)

    def _signed(self, thumbnail: QPixmap | None) -> QPixmap:
        """The warning sign at the right end of the thumbnail slot, over the thumbnail if any."""
        ratio = max(1.0, self.devicePixelRatioF())
        out = QPixmap(THUMB_SIZE * ratio)
        out.setDevicePixelRatio(ratio)
        out.fill(Qt.GlobalColor.transparent)
        painter = QPainter(out)
        if thumbnail is not None:
            painter.drawPixmap(0, 0, thumbnail.scaled(THUMB_SIZE * ratio, Qt.AspectRatioMode.KeepAspectRatio,
                                                      Qt.TransformationMode.SmoothTransformation))
        side = THUMB_SIZE.height()
        sign = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        sign.paint(painter, THUMB_SIZE.width() - side, 0, side, side)
        painter.end()
        return out

    def has_sign(self, path: Path) -> bool:
        """Whether the row shows the damaged-file sign."""
        item = self._find(path)
        return item is not None and bool(item.data(STATUS, PROBLEM_ROLE)) and not item.icon(NAME).isNull()

    def problem(self, path: Path) -> str | None:
        """The message set_problem marked this row with (None for a sound file)."""
        item = self._find(path)
        return None if item is None else item.data(STATUS, PROBLEM_ROLE)

    @staticmethod
    def _set_tooltips(item: QTreeWidgetItem) -> None:
        labelled = bool(item.data(STATUS, PATH_ROLE))
        problem = item.data(STATUS, PROBLEM_ROLE)
        status = "has labels" if labelled else "no labels yet"
        item.setToolTip(STATUS, f"{status}\n\u26a0 {problem}" if problem else status)
        path = item.data(NAME, PATH_ROLE)
        item.setToolTip(NAME, f"{path}\n\u26a0 {problem}" if problem else path)

    def set_scores(self, scores: dict[Path, float]) -> None:
        """Per-image scores (e.g. mean prediction uncertainty); sort by clicking the column."""
        by_name = {str(Path(p)): float(s) for p, s in scores.items()}
        self.tree.setColumnHidden(SCORE, not by_name)
        for item in self._items():
            score = by_name.get(item.data(NAME, PATH_ROLE))
            item.setData(SCORE, PATH_ROLE, score)
            item.setText(SCORE, "" if score is None else f"{score:.3f}")

    def sort_by_score(self, descending: bool = True) -> None:
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.tree.sortByColumn(SCORE, order)

    def set_current(self, path: Path | None) -> None:
        item = self._find(path) if path is not None else None
        self._current = None if path is None else str(Path(path))
        if self._current in self._thumbnails:
            self._thumbnails.move_to_end(self._current)  # a shown image keeps its thumbnail
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)

    def visible_paths(self) -> list[Path]:
        """The shown images in display order (next/previous image walk this)."""
        return [Path(i.data(NAME, PATH_ROLE)) for i in self._items() if not i.isHidden()]

    def _items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def _find(self, path: Path) -> QTreeWidgetItem | None:
        key = str(Path(path))
        return next((i for i in self._items() if i.data(NAME, PATH_ROLE) == key), None)

    def _apply_filter(self) -> None:
        text = self.search.text().strip().lower()
        mode = self.status_filter.currentIndex()
        for item in self._items():
            labelled = bool(item.data(STATUS, PATH_ROLE))
            hide = (text and text not in item.text(NAME).lower()) or (
                (mode == 1 and not labelled) or (mode == 2 and labelled)
            )
            item.setHidden(bool(hide))

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.imageActivated.emit(Path(item.data(NAME, PATH_ROLE)))
