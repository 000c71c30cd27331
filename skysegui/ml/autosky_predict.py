"""Auto sky as a Prediction: what the window and `skysegui predict --auto` share.

core.autosky finds the sky with no network; this wraps its probability into the same
Prediction (mask, probability, uncertainty) that a model gives, so the overlay, "Accept
prediction", "review worst first" and the saved files work alike. The prediction names
its source ("auto sky") and says in words what the scene was judged to be. No
TensorFlow is imported on this path.
"""

from __future__ import annotations

from skysegui.core.autosky import SceneEvidence, auto_sky
from skysegui.core.errors import PredictionError
from skysegui.core.progress import CancelToken, ProgressFn
from skysegui.ml.predict import Prediction, pixels_of

AUTO_SKY = "auto sky"  # the source's name, wherever the user sees it
AUTO_MODE = "auto"


def scene_note(scene: SceneEvidence, sky_pixels: int) -> str:
    """What auto sky judged, in words; "" for the usual case (outdoors, sky found)."""
    if not scene.outdoors:
        return "indoors: no sky found" if sky_pixels == 0 else "indoors: sky only through windows"
    return "" if sky_pixels else "outdoors, but no sky found"


class AutoSkyPredictor:
    """Has a Predictor's `predict(image, mode, progress, cancel)`, with no model."""

    def __init__(self, threshold: float = 0.5) -> None:
        if not 0.0 < threshold < 1.0:
            raise PredictionError(
                f"threshold {threshold} is out of range: use a probability between 0 and 1 (default 0.5)"
            )
        self.threshold = threshold

    def predict(
        self,
        image,
        mode: str | None = None,  # noqa: ARG002  (one method: there is nothing to choose)
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> Prediction:
        pixels, is_hdr = pixels_of(image)
        result = auto_sky(pixels, is_hdr=is_hdr, progress=progress, cancel=cancel)
        prediction = Prediction.from_prob(
            result.prob, self.threshold, mode=AUTO_MODE, seconds=result.seconds, source=AUTO_SKY
        )
        prediction.note = scene_note(result.scene, int(prediction.mask.sum()))
        return prediction
