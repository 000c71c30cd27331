"""Pure data and file formats: numpy, OpenCV and file libraries only (no Qt, no TensorFlow)."""
