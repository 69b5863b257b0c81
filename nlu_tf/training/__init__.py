"""One training stage (2.0, 2.1 or 2.2) end to end: its settings, optimizer and schedule,
dev evaluation, resumable checkpoints, TensorBoard curves; its data a joint-NLU dataset
(`task_data.NluData`) or a GLUE task (`glue_data.GlueData`)."""
