"""BERT pretraining instances: sentence pairs cut from documents, then masked.

Per document, segments are gathered until a target length is reached (`max_seq_len` - 3,
or with probability `short_seq_prob` a random shorter one); a random split gives
segment A and, half of the time (always when the chunk is one segment), segment B is the
start of a random other document instead of the true continuation, the segments it did
not use being put back. A single-document corpus has no other document, so there every
B is the true continuation and a chunk of one segment becomes a single-segment
instance. The pair is trimmed to fit, one token at a time from the longer side, front or
back at random.

Masking picks `masked_lm_prob` of the tokens (at least one, at most
`max_predictions_per_seq`), whole words or single pieces, and replaces 80 % by `[MASK]`,
10 % by a random token and keeps 10 %. Every random choice comes from one
`random.Random` per epoch, so an epoch is reproducible from the seed alone.
"""

import dataclasses

from nlu_tf.data.tokenizer import CONTINUATION, MASK


@dataclasses.dataclass(frozen=True)
class Instance:
    """One pretraining example (unpadded).

    Attributes:
        input_ids: `[CLS] A [SEP] B [SEP]` with masked positions replaced.
        segment_ids: 0 over `[CLS] A [SEP]`, 1 over `B [SEP]`.
        is_random_next: B is not A's continuation.
        masked_positions: the masked positions, ascending.
        masked_ids: the original ids at those positions.
    """

    input_ids: list
    segment_ids: list
    is_random_next: bool
    masked_positions: list
    masked_ids: list


class Vocabulary:
    """What masking needs to know of a `WordPieceTokenizer`'s vocabulary."""

    def __init__(self, tokenizer):
        vocab = tokenizer.vocab
        self.cls_id, self.sep_id = tokenizer.cls_id, tokenizer.sep_id
        self.mask_id = tokenizer.token_to_id(MASK)
        if vocab[self.mask_id] != MASK:
            raise ValueError(f"the vocabulary has no {MASK} token")
        self.continuation = frozenset(i for i, token in enumerate(vocab)
                                      if token.startswith(CONTINUATION))
        # Random replacements are ordinary pieces, never [CLS], [unused3] and the like.
        self.random_ids = [i for i, token in enumerate(vocab)
                           if not (token.startswith("[") and token.endswith("]"))]


def _truncate_pair(a, b, max_tokens, rng):
    """Trims `a` and `b` in place to `max_tokens` together, one token at a time from the
    longer side, front or back at random; the draws are counted, then each list is sliced
    once (linear in the tokens dropped, the same result as deleting them one by one)."""
    lengths, fronts, backs = [len(a), len(b)], [0, 0], [0, 0]
    while lengths[0] + lengths[1] > max_tokens:
        side = 0 if lengths[0] > lengths[1] else 1
        lengths[side] -= 1
        if rng.random() < 0.5:
            fronts[side] += 1
        else:
            backs[side] += 1
    for side, tokens in enumerate((a, b)):
        tokens[:] = tokens[fronts[side]:len(tokens) - backs[side]]


def _random_continuation(documents, index, target, rng):
    other = rng.randrange(len(documents) - 1)
    document = documents[other + (other >= index)]
    tokens = []
    for sentence in document[rng.randrange(len(document)):]:
        tokens.extend(sentence)
        if len(tokens) >= target:
            break
    return tokens


def document_pairs(documents, index, max_seq_len, short_seq_prob, rng):
    """Yields (A, B, is_random_next) token-id lists cut from document `index`."""
    document = documents[index]
    max_tokens = max_seq_len - 3
    target = max_tokens if rng.random() >= short_seq_prob else rng.randint(2, max_tokens)
    chunk, length, i = [], 0, 0
    while i < len(document):
        chunk.append(document[i])
        length += len(document[i])
        if i == len(document) - 1 or length >= target:
            split = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            a = [token for sentence in chunk[:split] for token in sentence]
            random_next = len(documents) > 1 and (len(chunk) == 1 or rng.random() < 0.5)
            if random_next:
                b = _random_continuation(documents, index, max(target - len(a), 1), rng)
                i -= len(chunk) - split
            else:
                b = [token for sentence in chunk[split:] for token in sentence]
            _truncate_pair(a, b, max_tokens, rng)
            yield a, b, random_next
            chunk, length = [], 0
        i += 1


def _word_groups(ids, vocab, whole_word):
    groups = []
    for position, token in enumerate(ids):
        if token in (vocab.cls_id, vocab.sep_id):
            continue
        if whole_word and groups and token in vocab.continuation and groups[-1][-1] == position - 1:
            groups[-1].append(position)
        else:
            groups.append([position])
    return groups


def mask_tokens(ids, vocab, masked_lm_prob, max_predictions, whole_word, rng):
    """Masks `ids` in place; returns (positions, original ids), positions ascending."""
    groups = _word_groups(ids, vocab, whole_word)
    rng.shuffle(groups)
    wanted = min(max_predictions, max(1, round(len(ids) * masked_lm_prob)))
    positions = []
    for group in groups:
        if len(positions) >= wanted:
            break
        if len(positions) + len(group) > wanted:
            continue
        positions.extend(group)
    positions.sort()
    originals = [ids[p] for p in positions]
    for p in positions:
        draw = rng.random()
        if draw < 0.8:
            ids[p] = vocab.mask_id
        elif draw >= 0.9:
            ids[p] = rng.choice(vocab.random_ids)
    return positions, originals


def document_instances(documents, index, vocab, settings, rng):
    """The masked `Instance`s of document `index` (`settings`: a `PregenerateSettings`)."""
    for a, b, random_next in document_pairs(documents, index, settings.max_seq_len,
                                            settings.short_seq_prob, rng):
        ids = [vocab.cls_id] + a + [vocab.sep_id] + (b + [vocab.sep_id] if b else [])
        segments = [0] * (len(a) + 2) + [1] * (len(b) + 1 if b else 0)
        positions, originals = mask_tokens(ids, vocab, settings.masked_lm_prob,
                                           settings.max_predictions_per_seq,
                                           settings.whole_word_mask, rng)
        yield Instance(ids, segments, random_next, positions, originals)
