"""A pretraining corpus: one sentence a line, documents separated by blank lines.

The corpus is read once, as a stream, and tokenized into a document store: in memory, or
(`reduce_memory`) in three flat binary files read back with positioned reads, so that
neither the text nor its token ids are ever held whole in memory. Instance creation
then asks the store for documents by index.
"""

import array
import codecs
import os

from nlu_tf.errors import InputError

# Distinct words seen so far are cached by the tokenizer; on a large corpus that cache
# is the one thing that grows, so the streaming mode drops it this often.
_CACHE_LINES = 50_000


def _capped_lines(f, path, max_chars):
    """Yields `(number, text)` for the lines of the binary file `f`, each cut to its first
    `max_chars` characters (None: whole); the rest of a longer line is read in chunks and
    only checked as UTF-8, so memory does not grow with the longest line."""
    limit = None if max_chars is None else 4 * max_chars
    number = 0
    while True:
        raw = f.readline() if limit is None else f.readline(limit)
        if not raw:
            return
        number += 1
        decoder = codecs.getincrementaldecoder("utf-8")()
        continues = limit is not None and len(raw) == limit and not raw.endswith(b"\n")
        offset = 0  # bytes of the line before the piece being decoded
        try:
            text = decoder.decode(raw, final=not continues)
            offset = len(raw)
            while continues and (chunk := f.readline(limit)):  # the rest, read and dropped
                continues = not chunk.endswith(b"\n")
                decoder.decode(chunk, final=not continues)
                offset += len(chunk)
            if continues:
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            at = min(error.start, len(error.object) - 1)
            raise InputError(path, f"not UTF-8 (byte 0x{error.object[at]:02x} at column "
                                   f"{offset + error.start + 1})", number) from None
        yield number, text if max_chars is None else text[:max_chars]


def read_documents(path, tokenizer, reduce_memory=False, max_chars=None):
    """Yields the documents of a corpus file, each a list of sentences of token ids.

    Lines that give no token (blank after cleaning) are skipped; a document that gives no
    sentence is skipped; only the first `max_chars` characters of a line are tokenized
    (None: all). Raises a one-line `InputError` naming the line of the first byte
    sequence that is not UTF-8.
    """
    if not os.path.isfile(path):
        raise InputError(path, "corpus file not found")
    document = []
    with open(path, "rb") as f:
        for number, line in _capped_lines(f, path, max_chars):
            if reduce_memory and number % _CACHE_LINES == 0:
                tokenizer.clear_cache()
            words = line.split()
            if not words:
                if document:
                    yield document
                document = []
                continue
            ids = tokenizer.encode_words(words).input_ids[1:-1]
            if ids:
                document.append(ids)
    if document:
        yield document


class MemoryDocuments:
    """Documents held in memory, each a list of sentences (tuples of token ids)."""

    def __init__(self):
        self._documents = []

    def append(self, document):
        self._documents.append([tuple(sentence) for sentence in document])

    def close(self):
        pass

    def __len__(self):
        return len(self._documents)

    def __getitem__(self, index):
        return self._documents[index]


class DiskDocuments:
    """Documents in three flat files under `folder`: token ids (int32), the end of every
    sentence in the tokens (int64) and the end of every document in the sentences (int64).

    Appends are buffered; reads are positioned reads of one document, so the resident
    memory does not grow with the corpus (a memory map would keep every page it touched).
    Call `close()` after the last `append`, and `release()` when done.
    """

    _NAMES = ("tokens.bin", "sentences.bin", "documents.bin")

    def __init__(self, folder):
        os.makedirs(folder, exist_ok=True)
        self._paths = [os.path.join(folder, name) for name in self._NAMES]
        self._writers = [open(path, "wb") for path in self._paths]
        self._fds = None
        self._tokens = self._sentences = self._documents = 0

    def append(self, document):
        tokens, ends = array.array("i"), array.array("q")
        for sentence in document:
            tokens.extend(sentence)
            ends.append(self._tokens + len(tokens))
        self._tokens += len(tokens)
        self._sentences += len(ends)
        self._documents += 1
        tokens.tofile(self._writers[0])
        ends.tofile(self._writers[1])
        array.array("q", [self._sentences]).tofile(self._writers[2])

    def close(self):
        """Ends writing and opens the files for reading."""
        for writer in self._writers:
            writer.close()
        self._fds = [os.open(path, os.O_RDONLY) for path in self._paths]

    def release(self):
        """Closes the files and deletes them."""
        for fd in self._fds or ():
            os.close(fd)
        for path in self._paths:
            os.remove(path)

    @staticmethod
    def _read(fd, typecode, start, count):
        values = array.array(typecode)
        values.frombytes(os.pread(fd, count * values.itemsize, start * values.itemsize))
        return values

    def __len__(self):
        return self._documents

    def __getitem__(self, index):
        if index == 0:
            first, last = 0, self._read(self._fds[2], "q", 0, 1)[0]
        else:
            first, last = self._read(self._fds[2], "q", index - 1, 2)
        ends = self._read(self._fds[1], "q", first - 1, last - first + 1) if first else (
            array.array("q", [0]) + self._read(self._fds[1], "q", 0, last))
        tokens = self._read(self._fds[0], "i", ends[0], ends[-1] - ends[0])
        base = ends[0]
        return [tokens[start - base:end - base].tolist() for start, end in zip(ends, ends[1:])]


def load_corpus(path, tokenizer, reduce_memory=False, work_dir=None, max_chars=None):
    """Tokenizes a corpus into a document store and checks it can make sentence pairs.

    Args:
        path: the corpus file.
        tokenizer: a `WordPieceTokenizer`.
        reduce_memory: stream into `DiskDocuments` under `work_dir` instead of memory.
        work_dir: folder of the on-disk store (required with `reduce_memory`).
        max_chars: characters of a line that are tokenized (None: all).

    Returns:
        (the store, {"lines", "documents", "sentences", "tokens"} counts).

    Raises:
        InputError: the file is missing, empty, not UTF-8, or no document has more than
            one sentence (then the corpus is likely not one sentence a line).
    """
    store = DiskDocuments(work_dir) if reduce_memory else MemoryDocuments()
    counts = {"documents": 0, "sentences": 0, "tokens": 0}
    longest = 0
    try:
        for document in read_documents(path, tokenizer, reduce_memory, max_chars):
            store.append(document)
            counts["documents"] += 1
            counts["sentences"] += len(document)
            counts["tokens"] += sum(map(len, document))
            longest = max(longest, len(document))
    except BaseException:
        store.close()
        _release(store)
        raise
    store.close()
    if not counts["tokens"]:
        _release(store)
        raise InputError(path, "empty corpus: expected one sentence a line, documents "
                               "separated by blank lines")
    if longest < 2:
        _release(store)
        raise InputError(path, f"no document has more than one sentence ({counts['documents']} "
                               "documents): write one sentence a line and separate documents "
                               "by blank lines")
    return store, counts


def _release(store):
    if isinstance(store, DiskDocuments):
        store.release()
