"""Loads the word substitution source of a checkpoint: its masked LM, or its embeddings."""

import logging

import numpy as np

from nlu_tf.augment.neighbours import EmbeddingNeighbours
from nlu_tf.augment.vocabulary import replaceable_token
from nlu_tf.data.tokenizer import WordPieceTokenizer
from nlu_tf.errors import InputError
from nlu_tf.checkpoints.hf_names import config_from_hf
from nlu_tf.checkpoints.hf_reader import (canonical_state, find_weight_file, mlm_head_state,
                                          read_raw_tensors)

logger = logging.getLogger(__name__)

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class CandidateSource:
    """Finds replacement tokens for the replaceable `O` words of a list of examples.

    Use `load_candidate_source`; `kind` is "mlm" or "embeddings".
    """

    def __init__(self, kind, tokenizer, backend):
        self.kind = kind
        self.tokenizer = tokenizer
        self._backend = backend

    def word_candidates(self, examples, make_progress=None):
        """Returns, per example, {word index: tuple of candidate tokens} of its `O` words.

        Args:
            examples: `Example`s.
            make_progress: optional `make_progress(total, label)` returning a `ProgressBar`.
        """
        positions = [(i, j, token) for i, example in enumerate(examples)
                     for j, (word, tag) in enumerate(zip(example.words, example.tags))
                     if tag == "O" and (token := replaceable_token(word, self.tokenizer))]
        if self.kind == "embeddings":
            tokens = {token for _, _, token in positions}
            progress = make_progress(len(tokens), "neighbours") if make_progress else None
            table = self._backend.candidates(tokens, progress)
            found = [table.get(token, ()) for _, _, token in positions]
        else:
            requests = [(examples[i].words, j) for i, j, _ in positions]
            total = self._backend.count_inputs(requests)
            progress = make_progress(total, "masked LM") if make_progress else None
            found = self._backend.candidates(requests, progress)
        result = [{} for _ in examples]
        for (i, j, _), candidates in zip(positions, found):
            if candidates:
                result[i][j] = candidates
        return result


def load_candidate_source(model_dir, top_m, batch_size=128):
    """Reads a Hugging Face BERT directory and returns its `CandidateSource`.

    With a masked-LM head (`cls.predictions.*`) the source is the masked LM, run through
    the Keras encoder; otherwise it is the M nearest neighbours of the input embeddings.

    Raises:
        InputError: the directory lacks vocab.txt, config.json or weights, or they are
            inconsistent.
    """
    tokenizer = WordPieceTokenizer.from_model_dir(model_dir)
    path = find_weight_file(model_dir)
    state = canonical_state(read_raw_tensors(path))
    if WORD_EMBEDDINGS not in state:
        raise InputError(path, f"no word embeddings ({WORD_EMBEDDINGS})")
    embeddings = state[WORD_EMBEDDINGS]
    if embeddings.shape[0] != tokenizer.vocab_size:
        raise InputError(path, f"{embeddings.shape[0]} word embeddings for "
                               f"{tokenizer.vocab_size} entries in vocab.txt")
    if not np.all(np.isfinite(embeddings)):
        raise InputError(path, f"{WORD_EMBEDDINGS} holds NaN or infinite values")
    head = mlm_head_state(state)
    if not head:
        logger.info("%s: no masked-LM head, using input-embedding neighbours", path)
        return CandidateSource("embeddings", tokenizer,
                               EmbeddingNeighbours(embeddings, tokenizer.vocab, top_m))
    # TensorFlow is imported only on this path: the embedding path is numpy alone.
    from nlu_tf.augment.masked_lm import MaskedLMCandidates
    from nlu_tf.model_io.hf_encoder import assign_state, load_mlm_head
    from nlu_tf.models.bert_encoder import BertEncoder
    from nlu_tf.models.mlm_head import MaskedLMHead

    config = config_from_hf(model_dir)
    encoder = BertEncoder(**config)
    encoder.build()
    assign_state(encoder, state, path)
    mlm = MaskedLMHead(config["vocab_size"], config["hidden_size"],
                       config.get("activation", "gelu"), config.get("layer_norm_eps", 1e-12))
    load_mlm_head(mlm, head, embeddings, path)
    try:
        backend = MaskedLMCandidates(encoder, mlm, tokenizer, top_m, batch_size)
    except ValueError as error:
        raise InputError(model_dir, str(error)) from None
    return CandidateSource("mlm", tokenizer, backend)
