"""Factorised token embeddings for small students.

A (vocab, hidden) table is replaced by a (vocab, rank) table and a bias-free (rank, hidden)
projection (ALBERT's factorisation): a 9,477 x 384 table is 3.6 M parameters, at rank 96
0.95 M. The two start as the truncated SVD of the table, the best rank-`rank`
approximation of it, and then learn: stage 2.1 distils the embedding output too.
"""

import numpy as np


def factorised_tables(table, rank):
    """(rows, projection) of shapes (vocab, rank) and (rank, hidden) whose product is the
    best rank-`rank` approximation of `table`.

    The rows are the left singular vectors, scaled so that their entries spread like those
    of `table` (an int8 table with one scale loses least when its columns are alike); the
    projection carries the singular values.
    """
    u, s, vt = np.linalg.svd(np.asarray(table, np.float64), full_matrices=False)
    scale = float(np.std(table)) * np.sqrt(table.shape[0]) or 1.0
    rows = u[:, :rank] * scale
    projection = s[:rank, None] * vt[:rank] / scale
    return rows.astype(np.float32), projection.astype(np.float32)


def factorise_embedding(bundle, rank):
    """A copy of a `ModelBundle` whose token embedding is factorised at `rank` (below the
    hidden size); every other weight is copied unchanged.

    Raises:
        ValueError: the embedding is factorised already, or `rank` is not in 1..hidden-1.
    """
    from nlu_tf.model_io.model_dir import ModelBundle
    from nlu_tf.models.joint_model import rebuilt_model

    old = bundle.model
    hidden = old.encoder.hidden_size
    if old.encoder.token_projection is not None:
        raise ValueError("the token embedding is factorised already "
                         f"(embedding_size {old.encoder.embedding_size})")
    if type(rank) is not int or not 0 < rank < hidden:
        raise ValueError(f"embedding_size must be an integer in 1..{hidden - 1} "
                         f"(below the hidden size), got {rank!r}")
    rows, projection = factorised_tables(old.encoder.token_embedding.embeddings.numpy(), rank)
    model = rebuilt_model(old, {**old.encoder_config, "embedding_size": rank},
                          {"encoder/token_embedding/embeddings": rows,
                           "encoder/token_projection/kernel": projection})
    return ModelBundle(model, bundle.tokenizer, bundle.labels, bundle.max_seq_len)
