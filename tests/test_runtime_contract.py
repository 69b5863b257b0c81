"""The runtime contract written into every `.tflite`: the declared minimum runtime in the
file and in model_info.json, the operator versions that make older runtimes refuse a mode,
and the rewrites that let TF Lite 2.14 run float16 and prepare int16 ADD / SUB. The runs
on the runtimes themselves are `make client-test` (clients/check_tflite.py)."""

import json
import os

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from nlu_tf.export.flatbuffer_graph import OP, FlatGraph
from nlu_tf.export.int16x8 import INT16_SHIFT
from nlu_tf.export.metadata import QUANTIZATIONS
from nlu_tf.export.modes import MODES, SHIPPED_RUNTIME, version_tuple
from nlu_tf.export.runtime_contract import apply_contract, min_runtime_version, op_versions

# The highest FULLY_CONNECTED version TF Lite 2.14 registers (measured with tflite-runtime).
TFLITE_214_FULLY_CONNECTED = 10


def _content(convert_dir, mode):
    with open(os.path.join(convert_dir, f"tflite_{mode}", "model.tflite"), "rb") as f:
        return f.read()


def _info(convert_dir, mode):
    with open(os.path.join(convert_dir, f"tflite_{mode}", "model_info.json"), encoding="utf-8") as f:
        return json.load(f)


def test_every_file_declares_at_least_its_modes_runtime(convert_dir):
    for mode in QUANTIZATIONS:
        content, info = _content(convert_dir, mode), _info(convert_dir, mode)
        assert info["min_runtime"] == MODES[mode].min_runtime and info["runtime_note"]
        assert version_tuple(min_runtime_version(content)) >= version_tuple(info["min_runtime"]), mode


def test_modes_beyond_tflite_214_ask_for_an_operator_version_it_lacks(convert_dir):
    for mode in QUANTIZATIONS:
        fully_connected = op_versions(_content(convert_dir, mode)).get("FULLY_CONNECTED", 0)
        beyond = version_tuple(MODES[mode].min_runtime) > version_tuple(SHIPPED_RUNTIME)
        assert (fully_connected > TFLITE_214_FULLY_CONNECTED) == beyond, (mode, fully_connected)


def test_apply_contract_raises_floors_and_metadata_only(convert_dir):
    float32 = _content(convert_dir, "float32")
    raised = apply_contract(float32, "int4")
    assert op_versions(raised)["FULLY_CONNECTED"] == 14
    assert min_runtime_version(raised) == MODES["int4"].min_runtime
    same = {name: version for name, version in op_versions(raised).items()
            if name != "FULLY_CONNECTED"}
    assert same == {name: version for name, version in op_versions(float32).items()
                    if name != "FULLY_CONNECTED"}
    assert apply_contract(raised, "int4") == raised


def test_float16_gathers_no_dequantized_table(convert_dir):
    graph = FlatGraph(_content(convert_dir, "float16"))
    producers = graph.producers()
    gathers = [op for op in graph.subgraph.operators if graph.kind(op) == OP.GATHER]
    assert gathers
    for op in gathers:
        source = producers.get(int(op.inputs[0]))
        assert source is None or graph.kind(source) != OP.DEQUANTIZE
    kinds = [graph.kind(op) for op in graph.subgraph.operators]
    assert kinds.count(OP.BITCAST) == 3  # token, position and segment tables
    assert "graph_rewrites" in _info(convert_dir, "float16")


def test_int16_add_and_sub_keep_the_output_rescale_below_one(convert_dir):
    graph = FlatGraph(_content(convert_dir, "int16x8"))
    checked = 0
    for op in graph.subgraph.operators:
        if graph.kind(op) not in (OP.ADD, OP.SUB):
            continue
        tensors = [graph.subgraph.tensors[int(i)] for i in (*op.inputs, *op.outputs)]
        if any(t.type != schema.TensorType.INT16 for t in tensors):
            continue
        *inputs, output = tensors
        largest = max(float(t.quantization.scale[0]) for t in inputs)
        assert 2 * largest / (2 ** INT16_SHIFT * float(np.float32(output.quantization.scale[0]))) < 1
        checked += 1
    assert checked
