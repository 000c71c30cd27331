"""Our models in other tools: export to ONNX and TensorFlow SavedModel with the input
contract written beside them (contract.py), and running an export as another tool would
(runtime.py). `skysegui export-model` is the command; export.py does the work.
"""
