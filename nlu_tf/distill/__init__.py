"""Distillation: the one `Distiller` (the training step of every stage), its objectives (gold
labels, TinyBERT, BERT-EMD with its transport solver) and the cached teacher outputs."""
