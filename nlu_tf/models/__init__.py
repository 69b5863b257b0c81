"""The Keras layers and models: a BERT encoder that returns what distillation reads, the joint
intent + slot model, the GLUE sequence model, the masked-LM head, and 4-bit weights.

Both task models follow one head protocol (`head`, `head_arguments()`, `head_layers`,
`output_sizes`), so the code that saves, loads, cuts and rebuilds models needs no
per-model branch.

    bert_encoder.py       `BertEncoder`: every hidden state and pre-softmax attention score
    transformer_layer.py  one post-layer-norm block
    joint_model.py        `JointNLUModel`: the encoder, an intent head and a slot head
    sequence_model.py     `SequenceModel`: the encoder and one classifier (GLUE tasks)
    mlm_head.py           `MaskedLMHead`, what data augmentation samples words from
    encoder_config.py     an encoder config checked before anything is built
    activations.py        the feed-forward activations
    dropout.py            dropout whose mask is cheap under XLA
    fake_quant.py         quantization-aware training for 4-bit weights
    int4_table.py         a token table stored as 4-bit integers

They know no Hugging Face names and import no checkpoint reader: `nlu_tf.model_io` builds
them from files (`hf_encoder.py` holds the key table).
"""
