"""Golden vectors: nlu_tf's tokenization and decoding, case by case, for another client to match.

An app that runs a `.tflite` through the plain Interpreter tokenizes and decodes by itself
(`android/` holds the Java reference). Golden vectors prove such a client equal to nlu_tf.
For an export folder (its `vocab.txt`, `lower_case`, `max_seq_len` and label files) and a
list of utterances, each case holds what `WordPieceTokenizer.encode_text` gives (token ids,
first sub-token positions, word offsets in code points, truncation), seeded random logits,
and what nlu_tf decodes from them (`nlu_tf.decoding.decode`): the `nlu-predict --format
json` object, and the intent index and per-token tag indices a graph that decodes would
output.

The logits lie on a grid of sixteenths, so every value is exact in float32 and in decimal
and ties between tags happen (they go to the lower tag id on both sides). An utterance with
gold labels gets a bonus on its gold intent and tags, so its spans look like a model's.
"""

import json

import numpy as np

from nlu_tf.data.reader import read_lines, read_split
from nlu_tf.decoding import decode
from nlu_tf.serving.prediction import LinePrediction, format_json

GRID = 16.0
GOLD_BONUS = 3.0

# Text that breaks a careless tokenizer: case and accents, Greek final sigma, CJK, Hangul and
# other scripts NFD changes, astral characters, zero-width / control / format characters,
# the whitespace Python splits on, punctuation runs, words of 100, 101 and 300 characters,
# more words than max_seq_len holds, and text without any word.
HOSTILE_TEXTS = (
    "Play Café del Mar by BJÖRK",
    "ΟΔΥΣΣΕΥΣ στην ΑΘΉΝΑ και ΣΊΣΥΦΟΣ",
    "σΣς ΣΑΣ όλοι",
    "播放周杰伦的歌 in Beijing",
    "東京の天気は？ 明日",
    "한국어 노래 틀어줘",
    "Tiếng Việt có dấu, Ångström, Œuvre, ǅemal, ẞTRASSE",
    "İSTANBUL'a uçuş ıI",
    "مَرْحَبًا بالعالم",
    "नमस्ते दुनिया",
    "play 🎵 music 🦩 now 👍🏽 ❤️ 👨\u200d👩\u200d👧",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐀𐐁𐐨 math",
    "book\u200ba table\u200c for\u200d two\ufeff people\u00ad tonight",
    "\ufeffstart with a byte order mark",
    "rate\x07this\x1bbook\x7f now",
    "tab\tseparated\x0bwords\x0cand\x1cfile\x1dgroup\x1erecord\x1funit\x85next",
    "add\u00a0this\u2003to\u3000my\u2028play\u2029list\u202fnow\u205fok\u1680yes",
    "what?!?!... is *** the $$$ price ((of)) --- it???",
    "don't stop; e-mail me@example.com at 10:30am for $12.50 (U.S.A.)",
    "“quoted” «guillemets» ‘single’ — em – en … ellipsis ¿qué? ¡sí!",
    "private\ue000use and unassigned\u0378 here",
    "e\u0301cole \u0301leading mark école",
    "ﬁnd the ﬂight Ⅻ ½ ² ℃",
    "a" * 100 + " boundary",
    "b" * 101 + " over",
    "supercalifragilistic" * 15,
    "Book " + " ".join(["a", "table", "for", "two", "people", "at", "Le Bernardin"] * 12),
    " ".join(["unbelievably"] * 60),
    "",
    "   \t  ",
    "\u3000\u2003\u00a0",
    "\x00\x01\x02",
    "\u200b\u200c",
    "!",
)

# Characters for seeded random strings: ASCII, Latin accents, Greek, CJK, Hangul, combining
# marks, emoji, controls, format and space characters (all assigned since Unicode 12).
_FUZZ_CHARS = ("abcXYZ019 .,'!?-_#@$&()[]\"\t\n" "éÉèÀçñÑöÖøßİıǅ" "αβΣσςΆΐ"
               "中文字東京" "한국" "\u0301\u0308\u0327" "🎵🦩👍🏽" "\x07\x1b\x7f\x85"
               "\u200b\u200d\ufeff\u00ad" "\u00a0\u2003\u3000\u2028")


def fuzz_texts(count, seed=0, max_length=40):
    """`count` seeded random strings over characters that stress a tokenizer."""
    rng = np.random.default_rng(seed)
    chars = list(_FUZZ_CHARS)
    return tuple("".join(rng.choice(chars, size=int(rng.integers(1, max_length + 1))))
                 for _ in range(count))


def dataset_utterances(folder, split):
    """`(name, text, intent, tags)` for each line of a split: the raw `seq.in` line and its gold labels."""
    texts = read_lines(f"{folder}/{split}/seq.in")
    examples = read_split(folder, split)
    return [(f"{split}:{example.line}", texts[example.line - 1], example.intent, example.tags)
            for example in examples]


def _grid(rng, shape):
    return np.round(rng.normal(0.0, 2.0, shape) * GRID) / GRID


def golden_case(artefact, name, text, rng, intent=None, tags=None):
    """One golden case (a JSON-ready dict) for `text` under an export folder's `ArtefactInfo`.

    Args:
        artefact: an `nlu_tf.export.metadata.ArtefactInfo`.
        name: where the text comes from, e.g. `snips/test:12`.
        text: one raw utterance.
        rng: a numpy `Generator` for the logits.
        intent, tags: the gold intent and per-word tags, if known: they get a bonus.
    """
    labels = artefact.labels
    encoding = artefact.tokenizer.encode_text(text, artefact.max_seq_len)
    length = len(encoding.input_ids)
    intent_logits = _grid(rng, (len(labels.intents),))
    slot_logits = _grid(rng, (length, len(labels.slots)))
    if intent in labels.intents:
        intent_logits[labels.intents.index(intent)] += GOLD_BONUS
    for position, word in enumerate(encoding.word_starts):
        if tags is not None and word >= 0 and tags[word] in labels.slots:
            slot_logits[position, labels.slots.index(tags[word])] += GOLD_BONUS
    words = tuple(text[start:end] for start, end in encoding.word_spans)
    line = LinePrediction(text, words, encoding.word_spans)
    intent_id, intent_prob, tag_ids = None, None, [-1] * length
    if encoding.num_words:
        prediction = decode(intent_logits[None], slot_logits[None], [encoding.word_starts],
                            np.array([encoding.num_words]), labels)[0]
        line = LinePrediction(text, words, encoding.word_spans, prediction.intent,
                              prediction.intent_prob, prediction.tags, encoding.truncated)
        intent_id, intent_prob = labels.intents.index(prediction.intent), prediction.intent_prob
        for position, word in enumerate(encoding.word_starts):
            if word >= 0:
                tag_ids[position] = labels.slots.index(prediction.tags[word])
    return {
        "name": name, "text": text, "input_ids": list(encoding.input_ids),
        "word_starts": list(encoding.word_starts),
        "word_spans": [list(span) for span in encoding.word_spans],
        "truncated": encoding.truncated, "intent_logits": intent_logits.tolist(),
        "slot_logits": slot_logits.tolist(), "intent_id": intent_id, "intent_prob": intent_prob,
        "tag_ids": tag_ids, "expected": json.loads(format_json(line)),
    }


def write_golden(artefact, sources, output, seed=0):
    """Writes one golden case per utterance as JSON lines (ASCII: every other character escaped,
    so no line break hides inside a string) to the open text file `output`.

    Args:
        artefact: an `ArtefactInfo`.
        sources: iterable of `(name, text, intent, tags)`; intent and tags may be None.
        output: a writable text file.
        seed: seeds the logits.

    Returns:
        The number of cases written.
    """
    rng = np.random.default_rng(seed)
    count = 0
    for name, text, intent, tags in sources:
        case = golden_case(artefact, name, text, rng, intent, tags)
        output.write(json.dumps(case) + "\n")
        count += 1
    return count
