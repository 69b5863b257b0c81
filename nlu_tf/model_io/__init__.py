"""Keras models to and from files: nlu_tf model directories and Hugging Face BERT directories.

    model_dir.py         load and save a model directory; a joint or GLUE model on a BERT
                         checkpoint
    heads.py             what differs by head type (model class, sizes, label files)
    model_dir_checks.py  a model directory's config, labels and weights checked before loading
    model_files.py       the files of a model directory, checked without TensorFlow
    hf_encoder.py        the key table between a `BertEncoder` and Hugging Face names

Above `nlu_tf.checkpoints` (the files, as numpy) and `nlu_tf.models` (the Keras layers).
"""
