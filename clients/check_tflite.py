"""Runs nlu_tf's `.tflite` files on the runtimes Android apps ship, against the newest LiteRT.

    python clients/check_tflite.py CASES_DIR      # in the client virtualenv (make client-venv)
    python clients/check_tflite.py CASES_DIR --runtime ai_edge_litert   # another runtime

CASES_DIR comes from `python -m tests.client_cases CASES_DIR` (nlu_tf's own virtualenv):
every quantization mode of a tiny model, real tokenized utterances of several lengths, and
the logits the newest LiteRT gives. This script imports neither TensorFlow nor nlu_tf, only
numpy and `tflite_runtime` (the TF Lite of apps pinned to org.tensorflow:tensorflow-lite
of the same version), so it runs where those are pinned (clients/constraints.txt).

For each mode, one interpreter is resized per utterance, as an app does, in three settings:
XNNPACK on (the default) with the tensors first allocated at the file's input shape, XNNPACK
on with the first allocation at the first utterance's shape, and XNNPACK off. A mode whose declared minimum runtime (`min_runtime` in its
model_info.json) is not above this runtime must give LiteRT's intent and tag argmax on every
utterance, and logits within the tolerance (argmax must agree wherever LiteRT's top two logits are
further apart than the tolerance: a near-tie may go either way); a mode that declares a newer
minimum must be refused by this runtime at load (never loaded and answering). Each run is
a child process, so an abort or a crash is reported, not fatal. Each file's TFLite Model Metadata is read back with
tflite-support's MetadataDisplayer, and each Task Library export is run by its
BertCluAnnotator against nlu_tf's predictions. The in-graph decoding outputs (`intent_id`,
`slot_ids`) must equal, on every utterance, nlu_tf's decoding of the logits the same run
returned (`nlu_tf.tag_rules`, pure numpy: imported from the repository, not installed).
GLUE cases (`<task>_<mode>`: a tiny MRPC and a tiny STS-B model) run the same way on
sentence pairs, fed `input_ids`, `attention_mask` and the pair's real `token_type_ids`: the
label argmax (MRPC) as above, the score (STS-B) within the tolerance on every pair; their
metadata must name the task and its labels. Prints one line per mode and check, then `N
passed, N failed`.
"""

import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nlu_tf.tag_rules import best_tags  # noqa: E402  (numpy only)

# Relative to the largest reference logit: float modes differ only by summation order;
# dynamic range also by the rounding of on-the-fly activation quantization; int8 and the
# other quantized modes by their kernels' requantization, which differs between runtimes
# (measured on the tiny model: TensorFlow 2.21's XNNPACK int8 and LiteRT 2.3.0's differ by
# 6.6 % of the largest logit, each within an RMSE of 0.03 - 0.04 of the float32 model).
TOLERANCE = {"float32": 1e-4, "float16": 1e-3, "dynamic": 1e-2, "dynamic_per_channel": 1e-2}
QUANTIZED_TOLERANCE = 0.1


def _version_tuple(text):
    return tuple(int(part) for part in str(text).split(".")[:3] if part.isdigit())


RUNTIMES = ("tflite_runtime", "ai_edge_litert", "tensorflow")
SETTINGS = {"xnnpack": (True, True), "xnnpack, resized first": (True, False),
            "no xnnpack": (False, True)}


def _interpreter_module(runtime):
    if runtime == "tflite_runtime":
        import tflite_runtime.interpreter as module
    elif runtime == "ai_edge_litert":
        import ai_edge_litert.interpreter as module
    else:
        import tensorflow.lite as lite

        return lite.Interpreter, lite.experimental.OpResolverType
    return module.Interpreter, module.OpResolverType


def runtime_version(runtime):
    """The TF Lite version a runtime package implements, as `min_runtime` counts."""
    if runtime == "tflite_runtime":
        import tflite_runtime

        return tflite_runtime.__version__
    if runtime == "tensorflow":
        import tensorflow

        return tensorflow.__version__
    from importlib.metadata import version

    return "litert-" + version("ai-edge-litert")


def _refused(error, prefix=""):
    return {"status": "refused", "detail": prefix + str(error).strip().splitlines()[0][:200]}


def _agreement(ours, theirs, tolerance):
    """[equal argmax, rows, decisive rows (top two further apart than the tolerance),
    equal among the decisive]."""
    top2 = np.sort(theirs, axis=-1)[:, -2:]
    decisive = (top2[:, 1] - top2[:, 0]) > tolerance
    agree = ours.argmax(-1) == theirs.argmax(-1)
    return [int(agree.sum()), int(len(agree)), int(decisive.sum()), int((agree & decisive).sum())]


def _tolerance(mode, *references):
    scale = max(max(float(np.abs(r).max()) for r in references), 1.0)
    return TOLERANCE.get(mode, QUANTIZED_TOLERANCE) * scale


def run_one(cases_dir, name, setting, runtime):
    """Runs one manifest entry (a joint mode, or a GLUE `<task>_<mode>`) on this runtime;
    returns a JSON-ready dict (never raises on refusal)."""
    Interpreter, OpResolverType = _interpreter_module(runtime)
    xnnpack, allocate_first = SETTINGS[setting]
    entry = json.load(open(os.path.join(cases_dir, "manifest.json"), encoding="utf-8"))[name]
    resolver = (OpResolverType.AUTO if xnnpack
                else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    try:
        interpreter = Interpreter(model_path=os.path.join(entry["folder"], "model.tflite"),
                                  experimental_op_resolver_type=resolver)
        if allocate_first:
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        return _refused(error)
    runner = interpreter.get_signature_runner()
    in_index = {key: d["index"] for key, d in runner.get_input_details().items()}
    out_index = {key: d["index"] for key, d in runner.get_output_details().items()}
    del runner  # it holds views of the tensors, which resizing must not outlive

    def invoke(feeds):
        """Resizes to the feeds, runs them; returns {output: array} or a refusal dict."""
        for key, value in feeds.items():
            interpreter.resize_tensor_input(in_index[key], value.shape)
        try:
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            return _refused(error)
        for key, value in feeds.items():
            interpreter.set_tensor(in_index[key], value.astype(np.int32))
        try:
            interpreter.invoke()
        except (ValueError, RuntimeError) as error:
            return _refused(error, "at run: ")
        return {key: interpreter.get_tensor(index)[0].copy() for key, index in out_index.items()}

    run = _run_glue if "task" in entry else _run_joint
    return run(cases_dir, name, entry, invoke)


def _run_joint(cases_dir, mode, entry, invoke):
    cases = np.load(os.path.join(cases_dir, "cases.npz"))
    with open(os.path.join(entry["folder"], "slot_label.txt"), encoding="utf-8") as f:
        slot_labels = f.read().splitlines()
    intents, slots, decoded, start = [], [], 0, 0
    for length in cases["lengths"]:
        ids = cases["ids"][start:start + length][None]
        starts = cases["starts"][start:start + length][None]
        start += length
        out = invoke({"input_ids": ids, "attention_mask": np.ones_like(ids),
                      "token_type_ids": np.zeros_like(ids), "word_starts": starts})
        if "status" in out:
            return out
        intents.append(out["intent_logits"])
        slots.append(out["slot_logits"])
        words = np.flatnonzero(starts[0])
        graph = (int(out["intent_id"]), [int(t) for t in out["slot_ids"][words]])
        decoded += graph == best_tags(intents[-1], slots[-1][words], slot_labels)
    reference = np.load(os.path.join(cases_dir, f"reference_{mode}.npz"))
    intents, slots = np.stack(intents), np.concatenate(slots)
    tolerance = _tolerance(mode, reference["intents"], reference["slots"])
    return {"status": "ran", "tolerance": tolerance,
            "decoding": [int(decoded), int(len(cases["lengths"]))],
            "max_diff": float(max(np.abs(intents - reference["intents"]).max(),
                                  np.abs(slots - reference["slots"]).max())),
            "intents": _agreement(intents, reference["intents"], tolerance),
            "tags": _agreement(slots, reference["slots"], tolerance)}


def _run_glue(cases_dir, name, entry, invoke):
    """A GLUE model: every pair with its real segment ids; argmax (classification) or the
    score (STS-B) against LiteRT's."""
    cases = np.load(os.path.join(cases_dir, entry["cases"]))
    logits, start = [], 0
    for length in cases["lengths"]:
        ids = cases["ids"][start:start + length][None]
        types = cases["types"][start:start + length][None]
        start += length
        out = invoke({"input_ids": ids, "attention_mask": np.ones_like(ids),
                      "token_type_ids": types})
        if "status" in out:
            return out
        logits.append(out["logits"])
    reference = np.load(os.path.join(cases_dir, f"reference_{name}.npz"))["logits"]
    logits = np.stack(logits)
    tolerance = _tolerance(entry["quantization"], reference)
    result = {"status": "ran", "tolerance": tolerance,
              "max_diff": float(np.abs(logits - reference).max())}
    if entry["labels"]:
        result["labels"] = _agreement(logits, reference, tolerance)
    else:
        within = int((np.abs(logits - reference).max(-1) <= tolerance).sum())
        result["scores"] = [within, len(reference), len(reference), within]
    return result


# LiteRT packages number themselves anew; for the contract they count as the TensorFlow
# runtime whose operator versions they know (measured): LiteRT 1.0 - 2.0 know
# FULLY_CONNECTED up to version 13 (TensorFlow 2.17: 12), LiteRT 2.1 on and TensorFlow 2.21
# up to 14.
LITERT_AS_TENSORFLOW = (((2, 1), "2.21.0"), ((0, 0), "2.18.0"))


def comparable_version(runtime):
    """The TF Lite version a runtime counts as (`litert-2.1.6` -> `2.21.0`)."""
    if runtime.startswith("litert-"):
        version = _version_tuple(runtime.removeprefix("litert-"))
        return next(tf for first, tf in LITERT_AS_TENSORFLOW if version >= first)
    return runtime


EXPECTED_FILES = {"vocab.txt", "intent_label.txt", "slot_label.txt"}


def check_metadata(path, entry=None):
    """`(passed, note)`: tflite-support's MetadataDisplayer reads the model's TFLite Model
    Metadata, with the BERT tokenizer unit, label files on the outputs and the packed files;
    for a GLUE model (`entry` has a task), the task named and its labels (none for STS-B) on
    `logits`."""
    try:
        from tflite_support import metadata
    except ImportError:
        return None, "skipped (tflite-support not installed here)"
    try:
        displayer = metadata.MetadataDisplayer.with_model_file(path)
        described = json.loads(displayer.get_metadata_json())
        packed = set(displayer.get_packed_associated_file_list())
        glue_labels = (displayer.get_associated_file_buffer("label.txt").decode().splitlines()
                       if "label.txt" in packed else None)
    except Exception as error:  # any failure of the reader is the finding
        return False, f"MetadataDisplayer failed: {type(error).__name__}: {error}"[:240]
    subgraph = described["subgraph_metadata"][0]
    units = [unit["options_type"] for unit in subgraph.get("input_process_units", [])]
    labelled = [tensor["name"] for tensor in subgraph["output_tensor_metadata"]
                if any(f["type"] == "TENSOR_AXIS_LABELS" for f in tensor.get("associated_files", []))]
    missing = [key for key in ("name", "description", "version", "author", "license")
               if not described.get(key)]
    ok = not missing and units == ["BertTokenizerOptions"]
    if entry and "task" in entry:
        ok = (ok and entry["task_folder"] in described.get("name", "")
              and glue_labels == entry["labels"] and "vocab.txt" in packed
              and labelled == (["logits"] if entry["labels"] else []))
    else:
        ok = ok and EXPECTED_FILES <= packed and len(labelled) >= 2
    return ok, (f"metadata: {described.get('name')!r}, {len(subgraph['input_tensor_metadata'])} "
                f"inputs, labels on {', '.join(labelled) or 'none'}"
                + (f" ({', '.join(glue_labels)})" if glue_labels else "")
                + f", units {units}, packed {', '.join(sorted(packed))}"
                + (f"; missing {missing}" if missing else ""))


# The share of slot spans the Task Library export must give as nlu_tf does. float32: all.
# dynamic: the tiny model's random heads leave near-ties that the dynamic-range rounding of
# the Task Library's own, older TF Lite flips (3 spans of 160 on the tiny model; a trained
# model is measured on Snips test in docs/results.md).
CLU_SPAN_AGREEMENT = {"float32": 1.0, "dynamic": 0.95}


def check_clu(cases_dir):
    """`[(passed, note)]`: BertCluAnnotator (tflite-support) runs each Task Library export
    and gives nlu_tf's intent and slot spans for the cases (thresholds 0, no history)."""
    path = os.path.join(cases_dir, "clu_cases.json")
    try:
        from tflite_support.task import core, processor, text
    except ImportError:
        return []
    if not os.path.isfile(path):
        return [(False, "no clu_cases.json")]
    spec = json.load(open(path, encoding="utf-8"))
    results = []
    for mode, folder in spec["folders"].items():
        try:
            options = text.BertCluAnnotatorOptions(
                base_options=core.BaseOptions(file_name=os.path.join(folder, "model.tflite")),
                bert_clu_annotation_options=processor.BertCluAnnotationOptions(
                    max_history_turns=0, domain_threshold=0.0, intent_threshold=0.0,
                    categorical_slot_threshold=0.0, mentioned_slot_threshold=0.0))
            annotator = text.BertCluAnnotator.create_from_options(options)
        except Exception as error:  # the Task Library's refusal is the finding
            results.append((False, f"clu {mode}: BertCluAnnotator refused it: {error}"[:240]))
            continue
        same = intents_same = spans_same = spans = 0
        cases = spec["cases"][mode]
        for case in cases:
            response = annotator.annotate(processor.CluRequest(utterances=[case["text"]]))
            intents = [intent.display_name for intent in response.intents]
            slots = [[m.slot, m.mention.start, m.mention.end] for m in response.mentioned_slots]
            same += intents == [case["intent"]] and slots == case["slots"]
            intents_same += intents == [case["intent"]]
            spans_same += sum(span in slots for span in case["slots"])
            spans += max(len(case["slots"]), len(slots))
        share = CLU_SPAN_AGREEMENT.get(mode, 1.0)
        ok = len(cases) > 0 and intents_same == len(cases) and spans_same >= share * spans
        results.append((ok, f"clu {mode}: BertCluAnnotator gives nlu_tf's intent on "
                            f"{intents_same}/{len(cases)} utterances, its spans on "
                            f"{spans_same}/{spans} (needed {share:.0%}), both on {same}"))
    return results


def judge(mode, declared, runtime, result):
    """`(passed, note)` for one run under the contract."""
    supported = (declared is None
                 or _version_tuple(declared) <= _version_tuple(comparable_version(runtime)))
    status = result["status"]
    if status == "ran":
        tolerance = result["tolerance"]
        # Argmax must agree wherever LiteRT's top two are further apart than the tolerance;
        # a near-tie may go either way within it (an STS-B score: within the tolerance).
        rows = [(key, result[key]) for key in ("intents", "tags", "labels", "scores")
                if key in result]
        decoded, utterances = result.get("decoding", (0, 0))
        equal = (all(row[2] == row[3] for _, row in rows)
                 and result["max_diff"] <= tolerance and decoded == utterances)
        note = "; ".join(f"{key} {row[0]}/{row[1]} within tolerance" if key == "scores" else
                         f"{key} {row[0]}/{row[1]} equal ({row[3]}/{row[2]} decisive)"
                         for key, row in rows)
        note += f"; max |diff| {result['max_diff']:.2e} (tolerance {tolerance:.2e})"
        if "decoding" in result:
            note += f"; in-graph decoding {decoded}/{utterances} as nlu_tf's"
        if equal:
            return True, "correct: " + note
        return False, ("WRONG ANSWERS: " if supported else
                       "loads though it declares a newer runtime, and answers wrong: ") + note
    if status == "refused":
        return (not supported), f"refused ({result['detail']})"
    return False, f"process died ({result['detail']})"


def main(cases_dir, runtime_name):
    runtime = runtime_version(runtime_name)
    manifest = json.load(open(os.path.join(cases_dir, "manifest.json"), encoding="utf-8"))
    passed = failed = 0
    print(f"{runtime_name} {runtime}; cases: {cases_dir}")
    for mode, entry in manifest.items():
        declared = entry.get("min_runtime")
        ok, note = check_metadata(os.path.join(entry["folder"], "model.tflite"), entry)
        if ok is not None:
            passed += ok
            failed += not ok
        print(f"{'skip' if ok is None else 'ok  ' if ok else 'FAIL'} {mode:<25} {note}",
              flush=True)
        for setting in SETTINGS:
            child = subprocess.run([sys.executable, __file__, "--one", cases_dir, mode,
                                    setting, runtime_name], capture_output=True, text=True,
                                   timeout=600)
            lines = child.stdout.strip().splitlines()
            if child.returncode == 0 and lines:
                result = json.loads(lines[-1])
            else:
                result = {"status": "died",
                          "detail": f"exit {child.returncode}: "
                                    f"{(child.stderr.strip().splitlines() or [''])[-1][:160]}"}
            ok, note = judge(mode, declared, runtime, result)
            passed += ok
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {mode:<25} min_runtime {str(declared):<7} "
                  f"{setting:<22} {note}", flush=True)
    for ok, note in check_clu(cases_dir):
        passed += ok
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {note}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return failed == 0 and passed > 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--one":
        print(json.dumps(run_one(*sys.argv[2:])))
    elif len(sys.argv) in (2, 4) and (len(sys.argv) == 2 or sys.argv[2] == "--runtime") \
            and (len(sys.argv) == 2 or sys.argv[3] in RUNTIMES):
        sys.exit(0 if main(sys.argv[1], sys.argv[3] if len(sys.argv) == 4 else RUNTIMES[0])
                 else 1)
    else:
        sys.exit(f"usage: check_tflite.py CASES_DIR [--runtime {'|'.join(RUNTIMES)}]")
