"""The folder names of a convert directory, shared by the joint and the GLUE exports."""

SAVED_MODEL_FOLDER = "saved_model"
DEBUG_FOLDER = "quantization_debug"


def tflite_folder(quantization):
    """The folder name of a TFLite export, e.g. `tflite_int8`."""
    return f"tflite_{quantization}"
