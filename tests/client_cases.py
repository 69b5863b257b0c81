"""Cases for the client compatibility test: `python -m tests.client_cases OUT`.

Builds a tiny random model (the test suite's tiny BERT with seeded random heads, so that
its outputs vary with the input), converts it in every TFLite mode with nlu-convert's code,
and runs each `.tflite` with the newest LiteRT (this virtualenv's ai-edge-litert) on real
tokenized Snips utterances of several lengths, one interpreter resized per utterance.
Writes `OUT/<mode>/` (the export folder), `OUT/cases.npz` (the inputs) and
`OUT/reference_<mode>.npz` (LiteRT's logits), and `OUT/manifest.json` (each mode with the
runtime it declares). It also writes the Task Library (BertCluAnnotator) exports of
float32 and dynamic with `OUT/clu_cases.json`: ASCII utterances of the tiny test split and
what nlu_tf predicts for them from the plain file of the same mode (intent, slot spans).
GLUE cases too: a tiny MRPC (pair classification) and a tiny STS-B (pair score) model from
the same tiny BERT with seeded random heads, converted in every mode by the same code
(`OUT/glue/<task>/convert/`), pairs of several lengths with their segment ids
(`OUT/glue_<task>.npz`) and LiteRT's logits (`OUT/reference_<task>_<mode>.npz`), in the
manifest as `<task>_<mode>` with the task, its GLUE folder and labels. `clients/check_tflite.py`
then runs the same files on the runtimes apps ship, in a virtualenv of their own.
"""

import json
import os
import shutil
import sys

import numpy as np

from tests.tiny import write_tiny_bert, write_tiny_dataset

MAX_SEQ_LEN = 32
UTTERANCES = 24
GLUE_TASKS = ("mrpc", "sts-b")
# Pairs of several lengths (longest first, then mixed), in the words of tests/glue_files.py.
PAIRS = [("play the song for me in the book of my weather", "add a book to my song for me"),
         ("weather", "find me"),
         ("find the song", "add to my song for me in the weather of the book"),
         ("play a book", "play"),
         ("add the weather to my song", "find a book of the weather"),
         ("me", "the song for me in my book")]


def _model_dir(out):
    import keras

    from nlu_tf.data.reader import LabelMaps
    from nlu_tf.model_io.model_dir import from_pretrained, save_model_dir

    bert = write_tiny_bert(os.path.join(out, "tiny_bert"))
    data = write_tiny_dataset(os.path.join(out, "tiny_data"))
    keras.utils.set_random_seed(0)
    bundle = from_pretrained(bert, LabelMaps.from_dir(data), MAX_SEQ_LEN)
    return save_model_dir(bundle, os.path.join(out, "model")), data, bundle


def _utterances(data, tokenizer):
    """`(token ids, word-start flags)` of test utterances of different lengths (longest
    first, then mixed)."""
    from nlu_tf.data.reader import read_split

    examples = read_split(data, "test")
    encoded = [tokenizer.encode_words(e.words, MAX_SEQ_LEN) for e in examples]
    encoded = [(e.input_ids, [int(w >= 0) for w in e.word_starts]) for e in encoded]
    encoded.sort(key=lambda pair: len(pair[0]), reverse=True)
    order = [encoded[0]] + encoded[1:][::3] + encoded[1:][1::3] + encoded[1:][2::3]
    return order[:UTTERANCES]


def _run_litert(path, utterances):
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path).get_signature_runner()
    intents, slots = [], []
    for ids, starts in utterances:
        ids = np.array([ids], np.int32)
        out = runner(input_ids=ids, attention_mask=np.ones_like(ids),
                     token_type_ids=np.zeros_like(ids), word_starts=np.array([starts], np.int32))
        intents.append(out["intent_logits"][0])
        slots.append(out["slot_logits"][0])
    return intents, slots


def _glue_cases(out, task, tiny_bert):
    """Converts a tiny `task` model in every mode; writes its pairs and LiteRT's logits;
    returns its manifest entries."""
    import keras

    from nlu_tf.data.glue import glue_task
    from nlu_tf.data.glue.labels import TaskLabels
    from nlu_tf.data.pair_features import encode_pair
    from nlu_tf.export.convert import convert_model_dir, tflite_folder
    from nlu_tf.export.metadata import QUANTIZATIONS
    from nlu_tf.export.sequence_runner import SequenceTFLiteLogits
    from nlu_tf.model_io.model_dir import from_pretrained, save_model_dir
    from tests.glue_files import write_glue_task

    spec, name = glue_task(task), task.replace("-", "")
    root = os.path.join(out, "glue", name)
    write_glue_task(root, task, train=24, dev=4)
    keras.utils.set_random_seed(3)
    bundle = from_pretrained(tiny_bert, TaskLabels.of(task), MAX_SEQ_LEN)
    model_dir = save_model_dir(bundle, os.path.join(root, "model"))
    written = convert_model_dir(model_dir, os.path.join(root, "convert"), QUANTIZATIONS, root,
                                "", representative_size=16, saved_model=False)
    encoded = [encode_pair(bundle.tokenizer, a, b, MAX_SEQ_LEN)[:2] for a, b in PAIRS]
    np.savez(os.path.join(out, f"glue_{name}.npz"), lengths=[len(ids) for ids, _ in encoded],
             ids=np.concatenate([ids for ids, _ in encoded]).astype(np.int32),
             types=np.concatenate([types for _, types in encoded]).astype(np.int32))
    manifest = {}
    for mode in QUANTIZATIONS:
        folder = os.path.join(root, "convert", tflite_folder(mode))
        run = SequenceTFLiteLogits(os.path.join(folder, "model.tflite"))
        logits = [run.run_one({"input_ids": np.array([ids], np.int32),
                               "attention_mask": np.ones((1, len(ids)), np.int32),
                               "token_type_ids": np.array([types], np.int32)})[0]
                  for ids, types in encoded]
        np.savez(os.path.join(out, f"reference_{name}_{mode}.npz"), logits=np.stack(logits))
        manifest[f"{name}_{mode}"] = {
            "folder": folder, "min_runtime": written[folder].get("min_runtime"),
            "quantization": mode, "task": task, "task_folder": spec.folder,
            "labels": list(spec.labels) if spec.labels else None, "cases": f"glue_{name}.npz"}
    return manifest


def _clu_expectations(float32_folder, data):
    """nlu_tf's predictions (one TFLite folder) for the ASCII test utterances whose words
    have no punctuation: there nlu_tf's words and the Task Library's are the same."""
    import dataclasses

    from nlu_tf.serving.artefact import load_predictor
    from nlu_tf.serving.prediction import predict_lines, slot_spans

    with open(os.path.join(data, "test", "seq.in"), encoding="utf-8") as f:
        lines = [" ".join(line.split()) for line in f]
    lines = [line for line in lines if line.isascii() and all(w.isalnum() for w in line.split())]
    predictor = load_predictor(float32_folder)
    # As the Task Library runs it: padded to max_seq_len (on-the-fly activation ranges of
    # the dynamic-range kernels see the padding too).
    logits_fn = predictor.logits_fn

    def padded(batch):
        length = batch["input_ids"].shape[1]
        extra = predictor.max_seq_len - length
        values = {"input_ids": predictor.tokenizer.pad_id, "attention_mask": 0,
                  "token_type_ids": 0, "word_starts": -1}
        intent, slots = logits_fn({name: np.pad(batch[name], ((0, 0), (0, extra)),
                                                constant_values=values[name])
                                   for name in batch})
        return intent, slots[:, :length]

    predictor = dataclasses.replace(predictor, logits_fn=padded)
    results = predict_lines(predictor, lines[:UTTERANCES], batch_size=1)
    return [{"text": r.text, "intent": r.intent,
             "slots": [[s["slot"], s["start"], s["end"]] for s in slot_spans(r)]}
            for r in results]


def main(out):
    from nlu_tf.export.convert import CLU_QUANTIZATIONS, clu_folder, convert_model_dir, tflite_folder
    from nlu_tf.export.metadata import QUANTIZATIONS

    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    model_dir, data, bundle = _model_dir(out)
    written = convert_model_dir(model_dir, os.path.join(out, "convert"), QUANTIZATIONS, data,
                                "", representative_size=32, saved_model=False, clu=True)
    utterances = _utterances(data, bundle.tokenizer)
    np.savez(os.path.join(out, "cases.npz"), lengths=[len(ids) for ids, _ in utterances],
             ids=np.concatenate([ids for ids, _ in utterances]).astype(np.int32),
             starts=np.concatenate([starts for _, starts in utterances]).astype(np.int32))
    manifest = {}
    for mode in QUANTIZATIONS:
        folder = os.path.join(out, "convert", tflite_folder(mode))
        info = written[folder]
        intents, slots = _run_litert(os.path.join(folder, "model.tflite"), utterances)
        np.savez(os.path.join(out, f"reference_{mode}.npz"), intents=np.stack(intents),
                 slots=np.concatenate(slots))
        manifest[mode] = {"folder": folder, "min_runtime": info.get("min_runtime")}
    for task in GLUE_TASKS:
        manifest.update(_glue_cases(out, task, os.path.join(out, "tiny_bert")))
    clu = {mode: os.path.join(out, "convert", clu_folder(mode)) for mode in CLU_QUANTIZATIONS}
    with open(os.path.join(out, "clu_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"folders": clu, "cases": {mode: _clu_expectations(
            os.path.join(out, "convert", tflite_folder(mode)), data) for mode in clu}}, f,
            indent=2)
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    print(f"{len(QUANTIZATIONS)} modes, {len(utterances)} utterances, GLUE "
          f"{', '.join(GLUE_TASKS)} with {len(PAIRS)} pairs written to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
