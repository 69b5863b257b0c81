"""The Keras layers and models: a BERT encoder that returns what distillation reads, the joint
intent + slot model, the masked-LM head, and 4-bit weights.

    bert_encoder.py       `BertEncoder`: every hidden state and pre-softmax attention score
    transformer_layer.py  one post-layer-norm block
    joint_model.py        `JointNLUModel`: the encoder, an intent head and a slot head
    mlm_head.py           `MaskedLMHead`, what data augmentation samples words from
    encoder_config.py     an encoder config checked before anything is built
    activations.py        the feed-forward activations
    dropout.py            dropout whose mask is cheap under XLA
    fake_quant.py         quantization-aware training for 4-bit weights
    int4_table.py         a token table stored as 4-bit integers

They know no Hugging Face names and import no checkpoint reader: `nlu_tf.model_io` builds
them from files (`hf_encoder.py` holds the key table).
"""
