"""TFLite Model Metadata in every `.tflite`: the metadata buffer and the packed files are
there and the model still runs the same. tflite-support's own reader checks the content in
`make client-test` (clients/check_tflite.py), in the virtualenv where it installs."""

import io
import os
import zipfile

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from nlu_tf.export.metadata import QUANTIZATIONS
from nlu_tf.export.tflite_metadata import FILE_IDENTIFIER, METADATA_NAME


def _content(convert_dir, mode):
    with open(os.path.join(convert_dir, f"tflite_{mode}", "model.tflite"), "rb") as f:
        return f.read()


def _metadata(content):
    model = schema.Model.GetRootAs(bytearray(content), 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name() == METADATA_NAME:
            return bytes(model.Buffers(entry.Buffer()).DataAsNumpy())
    return None


def test_every_mode_carries_metadata_and_its_files(convert_dir):
    folder_files = ("vocab.txt", "intent_label.txt", "slot_label.txt")
    for mode in QUANTIZATIONS:
        content = _content(convert_dir, mode)
        metadata = _metadata(content)
        assert metadata is not None and metadata[4:8] == FILE_IDENTIFIER, mode
        with zipfile.ZipFile(io.BytesIO(content)) as packed:
            assert sorted(packed.namelist()) == sorted(folder_files)
            for name in folder_files:
                info = packed.getinfo(name)
                assert info.compress_type == zipfile.ZIP_STORED  # read in place by the Task Library
                with open(os.path.join(convert_dir, f"tflite_{mode}", name), "rb") as f:
                    assert packed.read(name) == f.read(), (mode, name)
        assert f"nlu_tf joint intent and slot model ({mode})".encode() in metadata


def test_the_packed_files_leave_the_outputs_unchanged(convert_dir):
    from nlu_tf.export.flatbuffer_graph import FlatGraph

    packed = _content(convert_dir, "float32")
    bare = FlatGraph(packed).serialize()  # the flatbuffer alone, no archive after it
    assert len(bare) < len(packed)
    ids = np.array([[2, 7, 9, 3]], np.int32)
    outputs = []
    for blob in (bare, packed):
        runner = Interpreter(model_content=blob).get_signature_runner()
        outputs.append(runner(input_ids=ids, attention_mask=np.ones_like(ids),
                              token_type_ids=np.zeros_like(ids), word_starts=np.ones_like(ids)))
    for name in ("intent_logits", "slot_logits", "intent_id", "slot_ids"):
        np.testing.assert_array_equal(outputs[0][name], outputs[1][name])
