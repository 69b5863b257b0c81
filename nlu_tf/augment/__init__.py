"""Label-preserving augmentation of joint intent + slot data for distillation.

Words tagged `O` are replaced word for word (masked-LM predictions when the checkpoint has
an MLM head, else nearest neighbours in its input-embedding space); whole slot values are
replaced by other values of the same slot type seen in training and re-tagged. The result
is a split folder (`train_aug/`) in the seq.in / seq.out / label layout.
"""
