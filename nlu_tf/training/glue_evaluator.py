"""The dev evaluator of a GLUE task: `task_metrics` on dev, the best checkpoint chosen on the
task's selection metric."""

from nlu_tf.glue_evaluation import glue_logits_fn, score_features
from nlu_tf.training.evaluator import DevEvaluator


class GlueDevEvaluator(DevEvaluator):
    """`DevEvaluator` of a GLUE task: scores dev with `task_metrics` and keeps the weights
    of the highest selection metric (`GlueTask.selection`: mcc, acc or corr).

    Args:
        student: the `SequenceModel` being trained.
        task: the `GlueTask`.
        features: the dev `PairFeatures`.
        **kwargs: `DevEvaluator`'s other arguments (`eval_step`, `batch_size`, ...).
    """

    def __init__(self, student, task, features, labels, **kwargs):
        super().__init__(student, None, features, labels, **kwargs)
        self.task = task
        self.metric_keys = task.metrics
        self.logits_fn = glue_logits_fn(student, kwargs.get("jit_compile", True))

    def score(self):
        metrics, _ = score_features(self.logits_fn, self.task, self.features, self.batch_size)
        return metrics

    def better(self, metrics):
        # Strictly better only: the first of equal scores is kept, as BERT-EMD keeps it.
        key = self.task.selection
        return self.best is None or metrics[key] > self.best[key]

    def describe(self, metrics):
        return "  ".join(f"{key} {metrics[key]:.4f}" for key in self.task.metrics)
