"""Datasets in the seq.in / seq.out / label layout: reading and checking them, WordPiece
tokenization, and padded batches of features."""
