"""Exports of a trained model: a SavedModel for servers and `.tflite` folders for Android.

    convert.py          model directory -> saved_model/ and tflite_<mode>/ (tools/convert.py)
    savedmodel.py       the SavedModel (raw strings and token ids) and its logits function
    graph_tokenizer.py  WordPiece and first-sub-token alignment as TF Text ops
    graph_decoding.py   the best BIO-keeping tag sequence (nlu_tf.tag_rules) as TF ops
    signatures.py       the exported tf.Modules
    tflite.py           builtin-ops-only conversion and quantization
    tflite_ops.py       which operators a .tflite runs
    tflite_interpreter.py  the LiteRT interpreter as a logits function
    metadata.py         vocab, labels and model_info.json of every export folder
"""
