"""The label formats we write, by name: no imports, so `skysegui --help` stays fast."""

FORMATS = ("coco", "label-studio", "labelme", "cvat")
FORMAT_TEXT = {
    "coco": "COCO JSON (holes kept)",
    "label-studio": "Label Studio tasks JSON with pre-annotations (predictions)",
    "labelme": "labelme JSON, one file per image, in a folder",
    "cvat": "CVAT for images 1.1 XML",
}
