"""Students made from a model's weights: cut, narrowed, factorised, trimmed or initialised anew.

    student.py      layers cut from the teacher (evenly spaced), or a general TinyBERT
    ffn_prune.py    narrower feed-forward layers: the neurons that carry the most weight
    factorise.py    a factorised token embedding from the table's truncated SVD
    vocab_trim.py   which WordPiece tokens a trimmed vocabulary keeps, and the cut table
    shared_rows.py  a trimmed table that keeps the whole vocabulary (rows shared)
    encoder_init.py BERT's initialisation of an encoder of a new shape

The cuts take a `ModelBundle` (`nlu_tf.model_io`) and return a new one, built of
`nlu_tf.models`' layers; `nlu_tf.export.trim_model_dir` writes a trimmed model directory.
"""
