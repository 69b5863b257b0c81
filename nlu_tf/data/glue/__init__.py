"""GLUE tasks in their original TSV format, under BERT-EMD's task keys: the task table and
a validating reader."""

from nlu_tf.data.glue.reader import (GlueExample, read_glue_file, read_glue_split,
                                     resolve_task_dir)
from nlu_tf.data.glue.tasks import TASKS, GlueTask, find_task, glue_task

__all__ = ["GlueExample", "GlueTask", "TASKS", "find_task", "glue_task", "read_glue_file",
           "read_glue_split", "resolve_task_dir"]
