"""Hugging Face BERT checkpoints, read and written as numpy: formats, untrusted-file parsing, names.

    hf_names.py      config.json keys and weight keys <-> `BertEncoder` arguments
    hf_reader.py     safetensors, tf_model.h5, pytorch_model.bin -> a canonical state dict
    hf_writer.py     a canonical state dict and config -> a Hugging Face BERT directory
    torch_pickle.py  pytorch_model.bin without torch: an allow-listed unpickler
    pickle_scan.py   a pickle's opcodes checked for memo bombs before it is unpickled
    h5_files.py      HDF5 files whose every dataset's storage is checked before reading

Nothing here imports Keras or `nlu_tf.models`: a hostile file is refused before any model
is built. `nlu_tf.model_io.hf_encoder` puts the arrays into Keras models.
"""
