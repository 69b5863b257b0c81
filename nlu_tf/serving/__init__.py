"""Serving: any artefact on disk, loaded, decoded, evaluated and used for prediction.

    artefact.py           resolves a model directory, SavedModel or TFLite folder once
    evaluation.py         scores on a split; reports; accuracy recorded in model_info.json
    prediction.py         raw text lines -> intents and slots (text and JSON lines)
    prediction_stream.py  the same over a stream, memory bounded by a window

Above `export/` (it loads exports) and beside `benchmark/`; training never imports it:
it scores through `nlu_tf.predictor`, the Keras path alone.
"""
