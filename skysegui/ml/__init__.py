"""TensorFlow side. Importing this package selects tf-keras for segmentation_models.

The variables must be set before TensorFlow is first imported (see DESIGN.md: Keras 3
breaks MultiWorkerMirroredStrategy and loading .keras files with custom losses).
Importing this package does not import TensorFlow (the window opens fast): code that needs
it calls skysegui.ml.tf_import.import_tensorflow() (or import_tf_keras(),
import_segmentation_models()), which also keeps TensorFlow's start-up lines off stderr.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("SM_FRAMEWORK", "tf.keras")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
