"""nlu_tf: joint intent + slot NLU models in TensorFlow, from BERT fine-tuning to TFLite."""

__version__ = "0.1.0"
