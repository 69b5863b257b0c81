"""Latency of one query at a time, as an app or a server answering a user sees it.

Each measurement takes one artefact (a Keras model directory, a SavedModel folder or a
TFLite folder) at one thread count, and real utterances of a dataset split (the first
`queries` of it, cycled if the split is shorter). Every query is tokenized and run on its
own at its real length: inputs (1, L), no padding. Before the timed calls come `warmup`
untimed ones, plus one call at every input length not yet seen, so that neither XLA (one
graph per length) nor the TFLite allocation for a new shape is paid inside the timed
calls; a TFLite model still resizes its inputs whenever the length changes from one
query to the next, as an app does.

Timed apart, per query:
    tokenize  our Python WordPiece (`WordPieceTokenizer.encode_text`), its word cache
              cleared before every query: each utterance costs what its first sight costs.
    model     the artefact's forward pass on the token ids, logits back as numpy arrays
              (Keras: the `tf.function` of `nlu_tf.decoding.keras_logits_fn`; SavedModel:
              its `logits` signature; TFLite: `TFLiteLogits.run`, with the decoding in its
              graph where the file has it). Python decoding is not timed.

TensorFlow's thread pools can only be sized before TensorFlow starts, so a Keras or
SavedModel measurement runs in a fresh subprocess (`python -m nlu_tf.benchmark.latency`)
that sets intra- and inter-op threads first; a TFLite interpreter takes `num_threads`
itself and is measured in this process.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from nlu_tf.benchmark.machine import machine_info
from nlu_tf.serving.artefact import open_artefact
from nlu_tf.data.reader import read_split, resolve_data_dir
from nlu_tf.errors import InputError

PERCENTILES = (50, 90, 99)
RESULT_PREFIX = "LATENCY_RESULT "
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_queries(data_dir, task, split="test", count=200):
    """The first `count` utterances of a split as text (cycled if the split is shorter).

    Args:
        data_dir: a dataset folder, or a root holding `<task>/`.
        task: the dataset under `data_dir` (e.g. "snips").
        split: "train", "dev" or "test".
        count: the number of queries.

    Returns:
        A list of `count` strings (the words of each utterance joined by spaces).
    """
    if count < 1:
        raise InputError("command line", f"the number of queries must be positive, got {count}")
    examples = read_split(resolve_data_dir(data_dir, task), split)
    texts = [" ".join(example.words) for example in examples]
    return [texts[i % len(texts)] for i in range(count)]


def summarize(milliseconds):
    """`p50`, `p90`, `p99`, `mean` and `min` of a list of times in ms (three decimals)."""
    values = np.asarray(milliseconds, dtype=np.float64)
    summary = {f"p{q}": float(np.percentile(values, q)) for q in PERCENTILES}
    summary.update(mean=float(values.mean()), min=float(values.min()))
    return {key: round(value, 3) for key, value in summary.items()}


def _inputs(encoding, word_starts=False):
    """The (1, L) model inputs of one encoding; `word_starts` for a TFLite file that
    decodes in its graph (timed with its decoding)."""
    ids = np.asarray(encoding.input_ids, dtype=np.int32)[None]
    inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids),
              "token_type_ids": np.zeros_like(ids)}
    if word_starts:
        inputs["word_starts"] = (np.asarray(encoding.word_starts)[None] >= 0).astype(np.int32)
    return inputs


class _Timer:
    """One artefact, warmed up on `queries`, timing one query at a time (see `measure`)."""

    def __init__(self, path, threads, queries, warmup=20, jit_compile=True, artefact=None):
        artefact = artefact or open_artefact(path)
        predictor = artefact.predictor(jit_compile, num_threads=threads)
        self.path, self.threads, self.jit_compile = path, int(threads), jit_compile
        self.artefact, self.name, self.tokenizer = artefact, predictor.name, predictor.tokenizer
        self.max_seq_len = predictor.max_seq_len
        # A TFLite logits function would loop over rows; `run` takes the (1, L) inputs as
        # they are.
        self.forward = getattr(predictor.logits_fn, "run", predictor.logits_fn)
        self.word_starts = getattr(predictor.logits_fn, "takes_word_starts", False)
        encodings = [self.tokenizer.encode_text(text, self.max_seq_len) for text in queries]
        warm = [_inputs(encoding, self.word_starts) for encoding in (encodings * warmup)[:warmup]]
        seen = {len(encoding) for encoding in encodings[:warmup]}
        for encoding in encodings:
            if len(encoding) not in seen:
                seen.add(len(encoding))
                warm.append(_inputs(encoding, self.word_starts))
        for inputs in warm:
            self.forward(inputs)
        self.warmup_calls = len(warm)
        self.mean_tokens = round(float(np.mean([len(e) for e in encodings])), 2)
        self.tokenize_ms, self.model_ms = [], []

    def time(self, text):
        """Times one query (tokenize, then the model) and keeps both times."""
        clock = time.perf_counter
        self.tokenizer.clear_cache()
        start = clock()
        encoding = self.tokenizer.encode_text(text, self.max_seq_len)
        tokenized = clock()
        inputs = _inputs(encoding, self.word_starts)
        begin = clock()
        self.forward(inputs)
        end = clock()
        self.tokenize_ms.append((tokenized - start) * 1e3)
        self.model_ms.append((end - begin) * 1e3)

    def result(self):
        tensorflow_threads = None
        if self.artefact.kind != "tflite":
            import tensorflow as tf

            tensorflow_threads = {
                "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
        artefact = self.artefact
        return {
            "artefact": os.path.normpath(self.path), "name": self.name, "kind": artefact.kind,
            "threads": self.threads, "queries": len(self.model_ms),
            "warmup_calls": self.warmup_calls, "mean_tokens": self.mean_tokens,
            "model_ms": summarize(self.model_ms), "tokenize_ms": summarize(self.tokenize_ms),
            "total_ms": summarize(np.add(self.model_ms, self.tokenize_ms)),
            "size_bytes": artefact.size_bytes, "size_mb": artefact.size_mb,
            "num_parameters": artefact.num_parameters,
            "jit_compile": bool(self.jit_compile) if artefact.kind == "keras" else None,
            "tensorflow_threads": tensorflow_threads,
        }


def measure(path, threads, queries, warmup=20, jit_compile=True):
    """Times `queries` one at a time on the artefact at `path`, in this process.

    For a Keras model or a SavedModel, TensorFlow's threads must already have been set
    (`configure_tensorflow_threads`) before TensorFlow started; `run_measurement` does that.

    Args:
        path: the artefact.
        threads: TFLite interpreter threads; recorded for the other kinds.
        queries: the utterances (str), one call each.
        warmup: untimed calls before the timed ones (plus one per unseen input length).
        jit_compile: Keras only: XLA-compile the forward pass.

    Returns:
        A JSON-ready dict: `artefact`, `name`, `kind`, `threads`, `queries`, `warmup_calls`,
        `mean_tokens`, `model_ms`, `tokenize_ms`, `total_ms` (each from `summarize`),
        `size_mb`, `size_bytes`, `num_parameters` (None if unknown), `jit_compile`
        (Keras only), `tensorflow_threads` (the pool sizes in effect; TFLite: None).
    """
    timer = _Timer(path, threads, queries, warmup, jit_compile)
    for text in queries:
        timer.time(text)
    return timer.result()


def measure_interleaved(paths, threads, queries, warmup=20, block=10):
    """Times TFLite artefacts taking turns on the same queries, in this process.

    A shared machine's speed drifts within seconds (other tenants, clock changes), so
    artefacts measured one after the other can differ by more than they really do. Here
    the artefacts take turns every `block` queries (the order of the turns rotating), so a
    slow spell falls on all of them alike; each keeps its own interpreter, warm between
    its turns. Each result is that of `measure`, plus `p50_ratio`: the median over queries
    of its model time over the first artefact's on the same query.

    Raises:
        InputError: an artefact is not a TFLite model, or `block` is not positive.
    """
    if block < 1:
        raise InputError("command line", f"the interleave block must be positive, got {block}")
    artefacts = [open_artefact(path) for path in paths]
    for path, artefact in zip(paths, artefacts):
        if artefact.kind != "tflite":
            raise InputError(path, "only TFLite artefacts can be measured interleaved (the "
                                   "others run in their own processes)")
    timers = [_Timer(path, threads, queries, warmup, artefact=artefact)
              for path, artefact in zip(paths, artefacts)]
    for turn, first in enumerate(range(0, len(queries), block)):
        chunk = queries[first:first + block]
        for shift in range(len(timers)):
            timer = timers[(turn + shift) % len(timers)]
            for text in chunk:
                timer.time(text)
    reference = np.asarray(timers[0].model_ms)
    results = []
    for timer in timers:
        result = timer.result()
        result["p50_ratio"] = round(float(np.median(np.asarray(timer.model_ms) / reference)), 3)
        result["interleave_block"] = int(block)
        results.append(result)
    return results


def configure_tensorflow_threads(threads):
    """Sizes TensorFlow's intra- and inter-op thread pools (before TensorFlow runs an op)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    tf.config.threading.set_inter_op_parallelism_threads(int(threads))


def run_measurement(path, threads, data_dir, task, split="test", queries=200, warmup=20,
                    jit_compile=True, timeout=1800):
    """One measurement: TFLite in this process, Keras / SavedModel in a fresh subprocess.

    Args:
        path, threads, warmup, jit_compile: see `measure`.
        data_dir, task, split, queries: which utterances (see `load_queries`).
        timeout: seconds a subprocess may take.

    Returns:
        The dict of `measure`.

    Raises:
        RuntimeError: the subprocess failed (its last stderr lines in the message).
    """
    if open_artefact(path).kind == "tflite":
        return measure(path, threads, load_queries(data_dir, task, split, queries), warmup,
                       jit_compile)
    command = [sys.executable, "-m", "nlu_tf.benchmark.latency", "--artefact", path,
               "--threads", str(threads), "--data_dir", data_dir, "--task", task or "",
               "--split", split, "--queries", str(queries), "--warmup", str(warmup)]
    if not jit_compile:
        command.append("--nojit_compile")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (REPO_ROOT, env.get("PYTHONPATH"))))
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if result.returncode != 0 or not lines:
        tail = "\n".join(result.stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"latency measurement of {path} with {threads} thread(s) failed "
                           f"(exit status {result.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def _load():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def run_benchmark(artefacts, threads=(1, 2), data_dir="data", task="snips", split="test",
                  queries=200, warmup=20, jit_compile=True, progress=None, interleave=0):
    """Measures every artefact at every thread count.

    Args:
        artefacts: artefact paths (checked before anything runs).
        threads: thread counts.
        data_dir, task, split, queries: which utterances (see `load_queries`).
        warmup, jit_compile: see `measure`.
        progress: called with one line of text after each measurement (e.g. `print`).
        interleave: 0, or TFLite artefacts only, measured taking turns every `interleave`
            queries at each thread count (`measure_interleaved`).

    Returns:
        A JSON-ready dict: `setup` (data, split, queries, warm-up, machine, 1-minute load
        average before and after) and `results` (one `measure` dict per artefact and
        thread count, in artefact order, then thread order).

    Raises:
        InputError: an artefact is missing or of no known kind, a thread count or the
            number of queries is not positive, or the split cannot be read.
    """
    artefacts, threads = list(artefacts), [int(t) for t in threads]
    if not artefacts:
        raise InputError("command line", "no artefacts to measure")
    if not threads or min(threads) < 1:
        raise InputError("command line", f"thread counts must be positive, got {threads}")
    if warmup < 0:
        raise InputError("command line", f"warm-up calls cannot be negative, got {warmup}")
    for path in artefacts:
        open_artefact(path)  # fails early on a bad path
    texts = load_queries(data_dir, task, split, queries)  # fails early on bad data
    setup = {"data_dir": os.path.normpath(resolve_data_dir(data_dir, task)), "split": split,
             "queries": queries, "warmup": warmup, "jit_compile": bool(jit_compile),
             "machine": machine_info(), "load_average_1m_before": _load()}
    if interleave:
        setup["interleave_block"] = int(interleave)
    results, total = [], len(artefacts) * len(threads)

    def report(result):
        results.append(result)
        if progress is not None:
            progress(f"[{len(results)}/{total}] {result['name']} threads={result['threads']}: "
                     f"model p50 {result['model_ms']['p50']:.2f} ms, p99 "
                     f"{result['model_ms']['p99']:.2f} ms; tokenize p50 "
                     f"{result['tokenize_ms']['p50']:.3f} ms")

    if interleave:
        by_threads = [measure_interleaved(artefacts, count, texts, warmup, interleave)
                      for count in threads]
        for index in range(len(artefacts)):
            for measured in by_threads:
                report(measured[index])
    else:
        for path in artefacts:
            for count in threads:
                report(run_measurement(path, count, data_dir, task, split, queries, warmup,
                                       jit_compile))
    setup["load_average_1m_after"] = _load()
    return {"setup": setup, "results": results}


def markdown_table(results):
    """A Markdown table of `run_benchmark` results, one row per artefact and thread count."""
    ratio = any("p50_ratio" in r for r in results)
    lines = ["| artefact | threads | p50 ms | p90 ms | p99 ms | tokenize p50 ms | size MB | "
             "parameters |" + (" time / first's, median |" if ratio else ""),
             "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if ratio else "")]
    for r in results:
        model, params = r["model_ms"], r["num_parameters"]
        lines.append(f"| {r['name']} | {r['threads']} | {model['p50']:.2f} | {model['p90']:.2f} "
                     f"| {model['p99']:.2f} | {r['tokenize_ms']['p50']:.3f} | {r['size_mb']:.2f} "
                     f"| {'' if params is None else f'{params:,}'} |"
                     + (f" {r['p50_ratio']:.3f} |" if ratio else ""))
    return "\n".join(lines)


def _worker(argv=None):
    """The subprocess of `run_measurement`: sets TensorFlow's threads, measures, prints JSON."""
    parser = argparse.ArgumentParser(prog="python -m nlu_tf.benchmark.latency",
                                     description="One latency measurement (see the module "
                                                 "docstring); prints one JSON line.")
    parser.add_argument("--artefact", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data_dir", default="data")
    parser.add_argument("--task", default="snips")
    parser.add_argument("--split", default="test")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--nojit_compile", dest="jit_compile", action="store_false")
    args = parser.parse_args(argv)
    try:
        queries = load_queries(args.data_dir, args.task, args.split, args.queries)
        if open_artefact(args.artefact).kind != "tflite":
            configure_tensorflow_threads(args.threads)
        result = measure(args.artefact, args.threads, queries, args.warmup, args.jit_compile)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    _worker()
