"""One resumable command from a dataset to an evaluated TFLite student (`tools/pipeline.py`)."""
