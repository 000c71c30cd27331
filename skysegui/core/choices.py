"""Names the CLI offers as choices: no imports, so `skysegui --help` stays fast.

The modules that use them (core/tonemap/settings.py, core/export/batch.py and sources.py)
import them from here; skysegui/core/label_formats.py does the same for label formats.
"""

#: Tone-mapping operators (core/tonemap).
OPERATORS = ("srgb", "gamma", "reinhard", "filmic", "log", "falsecolor")
#: What `export` writes per image (core/export/batch.py).
EXPORT_KINDS = ("overlay", "mask", "prob", "rgba-exr", "sky-exr", "ground-exr")
#: Overlay file formats (core/export/batch.py).
OVERLAY_FORMATS = ("png", "jpg", "tiff16")
#: Where an export's sky coverage comes from (core/export/sources.py).
SOURCES = ("labels", "prediction")
