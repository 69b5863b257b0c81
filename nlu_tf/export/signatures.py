"""The exported functions: token ids -> logits, and raw strings -> decoded predictions.

Both modules track the model's weights as plain `tf.Variable`s and reach the Keras model
through a closure. Tracking the Keras model itself saves a second, aliased copy of every
variable, which the TFLite converter then keeps as a mutable resource variable instead of
freezing it into a constant (and quantization never sees the weights).
"""

import tensorflow as tf

from nlu_tf.data.reader import PAD, UNK
from nlu_tf.export.graph_decoding import best_paths
from nlu_tf.export.graph_tokenizer import GraphTokenizer
from nlu_tf.export.metadata import ID_INPUTS
from nlu_tf.tag_rules import transition_rules


def id_signature(batch_size=None):
    """`TensorSpec`s of the id inputs: int32, (batch_size, None)."""
    return {name: tf.TensorSpec((batch_size, None), tf.int32, name=name) for name in ID_INPUTS}


def _forward_fn(model):
    # The model's own logit outputs: a joint model's two, a GLUE model's `logits`.
    names = tuple(model.output_sizes)

    def forward(input_ids, attention_mask, token_type_ids):
        outputs = model({"input_ids": input_ids, "attention_mask": attention_mask,
                         "token_type_ids": token_type_ids}, training=False)
        return {name: outputs[name] for name in names}

    return forward


class LogitsModule(tf.Module):
    """Exports `logits(input_ids, attention_mask, token_type_ids)` of a model.

    Returns, float32, a joint model's `intent_logits` (B, num_intents) and `slot_logits`
    (B, L, num_slots), or a GLUE model's `logits` (B, num_labels).

    Args:
        model: a built `JointNLUModel` or `SequenceModel`.
        batch_size: the static batch dimension of the inputs; None for any.

    Example:
    >>> module = LogitsModule(bundle.model, batch_size=1)
    >>> tf.saved_model.save(module, path, signatures={"serving_default": module.logits})
    """

    def __init__(self, model, batch_size=None, name=None):
        super().__init__(name=name)
        self.model_variables = [variable.value for variable in model.variables]
        self._forward = _forward_fn(model)
        self.logits = tf.function(self._forward, input_signature=list(
            id_signature(batch_size).values()))


class ServingModule(LogitsModule):
    """Adds `serve(text)`: raw UTF-8 utterances in, decoded intent and per-word tags out.

    `serve` takes `text` (tf.string, (B,)) and returns `intent` (string, (B,)),
    `intent_prob` (float32, (B,)), `slot_tags` (string, (B, W), one tag per
    whitespace-separated word, padded with "") and `num_words` (int32, (B,)). Decoding is
    that of `nlu_tf.decoding.decode`: a word is scored at its first sub-token, the words of
    an utterance take the best tag sequence that keeps the BIO rule (`nlu_tf.tag_rules`),
    a word without a token is "O", and PAD / UNK are never predicted.

    `tokenize(text)` (a function of the loaded object, not a signature) returns the model
    inputs the in-graph tokenizer makes: `input_ids`, `attention_mask`, `token_type_ids`.

    `logits` refuses inputs longer than the model's position embeddings with an
    `InvalidArgumentError` that says so (a trimmed model keeps only `max_seq_len` of them;
    an unchecked lookup past the table fails obscurely on a CPU and gives zeros on a GPU).

    Args:
        bundle: a `ModelBundle` (model, tokenizer, labels, max_seq_len).
    """

    def __init__(self, bundle, name=None):
        super().__init__(bundle.model, batch_size=None, name=name)
        tokenizer = bundle.tokenizer
        self.tokenizer = GraphTokenizer(tokenizer.vocab, tokenizer.lower_case,
                                        bundle.max_seq_len, tokenizer.pad_id)
        self._intents = tf.constant(list(bundle.labels.intents))
        self._slots = tf.constant(list(bundle.labels.slots))
        self._blocked = tf.constant([label in (PAD, UNK) for label in bundle.labels.slots])
        self._start, self._allowed = (tf.constant(rule)
                                      for rule in transition_rules(bundle.labels.slots))
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec((None,), tf.string, name="text")])
        self.tokenize = tf.function(self._tokenize, input_signature=[
            tf.TensorSpec((None,), tf.string, name="text")])
        self._positions = bundle.model.encoder.max_position_embeddings
        self._max_seq_len = bundle.max_seq_len
        self.logits = tf.function(self._checked_forward, input_signature=list(
            id_signature().values()))

    def _checked_forward(self, input_ids, attention_mask, token_type_ids):
        check = tf.debugging.assert_less_equal(
            tf.shape(input_ids)[1], self._positions,
            message=f"input_ids longer than the model's {self._positions} position "
                    f"embeddings (encode at most max_seq_len={self._max_seq_len} tokens)")
        # The lookup reads ids that pass through the check, so the check always runs first
        # (a stateless gather is otherwise free to fail before it, with an obscure message).
        with tf.control_dependencies([check]):
            input_ids = tf.identity(input_ids)
        return self._forward(input_ids, attention_mask, token_type_ids)

    def _tokenize(self, text):
        encoded = self.tokenizer.encode(text)
        return {name: encoded[name] for name in ID_INPUTS}

    def _serve(self, text):
        encoded = self.tokenizer.encode(text)
        logits = self._forward(*(encoded[name] for name in ID_INPUTS))
        probs = tf.nn.softmax(logits["intent_logits"], axis=-1)
        best = tf.argmax(probs, axis=-1, output_type=tf.int32)
        slot_logits = tf.where(self._blocked, tf.constant(-float("inf")), logits["slot_logits"])
        # The words with a token, each scored at its first sub-token, take the best tag
        # sequence of their utterance; a word without a token is "O".
        has_token = encoded["word_has_token"]
        scored = tf.where(has_token)[:, 0]
        rows = tf.gather(encoded["word_row"], scored)
        word_scores = tf.gather_nd(slot_logits, tf.stack(
            [rows, tf.gather(encoded["word_position"], scored)], axis=1))
        scores = tf.RaggedTensor.from_value_rowids(word_scores, rows,
                                                   nrows=tf.shape(slot_logits, tf.int64)[0])
        paths = best_paths(scores.to_tensor(), tf.cast(scores.row_lengths(), tf.int32),
                           self._start, self._allowed)
        word_slots = tf.scatter_nd(scored[:, None], tf.RaggedTensor.from_tensor(
            paths, lengths=scores.row_lengths()).flat_values, tf.shape(has_token, tf.int64))
        tags = tf.where(has_token, tf.gather(self._slots, word_slots), "O")
        words = encoded["words"]
        return {
            "intent": tf.gather(self._intents, best),
            "intent_prob": tf.reduce_max(probs, axis=-1),
            "slot_tags": words.with_flat_values(tags).to_tensor(default_value=""),
            "num_words": tf.cast(words.row_lengths(), tf.int32),
        }
