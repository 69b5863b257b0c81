"""The data side of a training stage, one class per dataset kind with the same methods.

`NluData` reads a joint-NLU dataset (seq.in / seq.out / label folders); `GlueData`
(`nlu_tf.training.glue_data`) one GLUE task's TSV files. The stage reads, encodes, scores
and chooses its checkpoint through these methods only:

- `labels`: what the model's head is built for; `splits`: {"train": [...], "dev": [...]};
- `split_path(split)`: where a split was read from (for messages);
- `check(bundle)`: refuses a model whose labels cannot train on the data;
- `features(bundle, split)`: the encoded split;
- `word_lists()`: the training examples' words (vocabulary trimming);
- `evaluator(...)`: the dev evaluator that keeps the best checkpoint;
- `dev_metrics(...)`: the final dev figures, `history_keys` those kept per evaluation.

Reading and validating import no TensorFlow: a command refuses bad data in a fraction of a
second, before TensorFlow loads. What scores a model is imported where it is used.
"""

import dataclasses
import os

from nlu_tf.data.features import encode_examples
from nlu_tf.data.glue import find_task
from nlu_tf.data.label_check import check_train_labels
from nlu_tf.data.reader import read_dataset, resolve_data_dir, split_name


class NluData:
    """A joint intent + slot dataset; `dataset` is `read_dataset`'s result when the caller
    validated the data already."""

    history_keys = ("intent_acc", "slot_f1", "sentence_acc")

    def __init__(self, settings, dataset=None):
        data = settings.data
        self.train_split = data.train_split
        self.data_dir = resolve_data_dir(data.data_dir, data.task)
        self.labels, self.splits = dataset or read_dataset(self.data_dir,
                                                           data.max_train_examples,
                                                           data.train_split)

    def split_path(self, split):
        return os.path.join(self.data_dir, self.train_split if split == "train" else split)

    def check(self, bundle):
        check_train_labels(bundle.labels, self.splits["train"], self.split_path("train"))

    def features(self, bundle, split):
        return encode_examples(self.splits[split], bundle.tokenizer, bundle.labels,
                               bundle.max_seq_len, split_name(self.data_dir, split))

    def word_lists(self):
        return (example.words for example in self.splits["train"])

    def evaluator(self, student, dev_features, settings, steps_per_epoch, total_steps,
                  scored_weights):
        from nlu_tf.training.evaluator import DevEvaluator

        return DevEvaluator(student.model, self.splits["dev"], dev_features, student.labels,
                            settings.eval_step, settings.data.eval_batch_size,
                            settings.resolved_jit_compile, steps_per_epoch, total_steps,
                            scored_weights=scored_weights)

    def dev_metrics(self, student, evaluator, dev_features, settings):
        del dev_features  # scored from the examples, as every artefact is
        from nlu_tf.predictor import evaluate_examples, keras_predictor

        predictor = keras_predictor(student, jit_compile=settings.resolved_jit_compile)
        if evaluator:
            # The dev evaluator's function runs the same model: its compiled shapes are reused.
            predictor = dataclasses.replace(predictor, logits_fn=evaluator.logits_fn)
        return evaluate_examples(predictor, self.splits["dev"], settings.data.eval_batch_size,
                                 split_name(self.data_dir, "dev"))


def summary_keys(task_name):
    """The dev metrics a command prints for `task_name`: a GLUE task's own keys, else the
    joint-NLU ones; `examples` last."""
    task = find_task(task_name)
    return (task.metrics if task else NluData.history_keys) + ("examples",)


def task_data(settings, dataset=None):
    """The stage's data: a GLUE task when `settings.data.task` is a GLUE key in any case
    (`MRPC`, `sts-b`), else a joint-NLU dataset.

    `dataset` is what a caller read and validated already: a task-data object (returned as
    it is), or `read_dataset`'s result for a joint-NLU dataset.
    """
    if hasattr(dataset, "splits"):
        return dataset
    task = find_task(settings.data.task)
    if task is not None:
        from nlu_tf.training.glue_data import GlueData

        return GlueData(settings, task)
    return NluData(settings, dataset)
