"""Pretraining data (BERT-EMD's `pregenerate_training_data.py`) and general distillation."""
