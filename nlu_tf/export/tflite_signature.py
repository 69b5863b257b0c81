"""A `.tflite`'s signature as the LiteRT interpreter reads it: opened with its required
tensors checked (for the runners), and described for `model_info.json` (for the writers).
Shared by the joint and the GLUE (sequence-head) exports.
"""

import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from nlu_tf.errors import InputError


def open_signature(model_path, num_threads, required):
    """(interpreter, input details, output details) of the `.tflite` at `model_path`.

    Raises:
        InputError: the file is missing or unreadable, or its signature lacks one of the
            `required` tensor names.
    """
    if not os.path.isfile(model_path):
        raise InputError(model_path, "TFLite model not found")
    try:
        interpreter = Interpreter(model_path=model_path, num_threads=int(num_threads))
        signature = interpreter.get_signature_runner()
    except ValueError as error:
        raise InputError(model_path, f"cannot load the TFLite model ({error})") from None
    inputs, outputs = signature.get_input_details(), signature.get_output_details()
    missing = [name for name in required if name not in {**inputs, **outputs}]
    if missing:
        raise InputError(model_path, f"the model's signature lacks {', '.join(missing)}")
    return interpreter, inputs, outputs


def signature_details(content):
    """(input details, output details) of the signature of `.tflite` bytes."""
    signature = Interpreter(model_content=content).get_signature_runner()
    return signature.get_input_details(), signature.get_output_details()


def describe_tensors(details, names):
    """Names, tensor names, dtypes and shapes (-1: resizable) of `names`, in that order."""
    return [{"name": name, "tensor": details[name]["name"],
             "dtype": np.dtype(details[name]["dtype"]).name,
             "shape": [int(d) for d in details[name]["shape_signature"]]} for name in names]
