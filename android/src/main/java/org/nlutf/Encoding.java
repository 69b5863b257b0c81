package org.nlutf;

/**
 * The token ids of one utterance and where each word's first sub-token sits: what
 * {@link NluTokenizer#encode} returns and what {@link NluDecoder} needs besides the outputs.
 *
 * <p>Offsets count Unicode code points, as Python string indices and nlu_tf's JSON output do;
 * {@link #charIndex} turns one into a Java {@code String} index (UTF-16 units).
 */
public final class Encoding {
    /** The text as given. */
    public final String text;
    /** Token ids, {@code [CLS] ... [SEP]}. */
    public final int[] inputIds;
    /** Per position, the index of the word whose first sub-token is there, else -1. */
    public final int[] wordStarts;
    /** True if whole words were dropped from the end to fit {@code max_seq_len}. */
    public final boolean truncated;
    /** {@code [start, end)} code-point offsets of every whitespace-separated word of {@link #text}. */
    public final int[][] wordSpans;

    Encoding(String text, int[] inputIds, int[] wordStarts, boolean truncated, int[][] wordSpans) {
        this.text = text;
        this.inputIds = inputIds;
        this.wordStarts = wordStarts;
        this.truncated = truncated;
        this.wordSpans = wordSpans;
    }

    /** The number of words in the text, dropped and piece-less ones included. */
    public int numWords() {
        return wordSpans.length;
    }

    /** The number of tokens, the two special tokens included. */
    public int length() {
        return inputIds.length;
    }

    /** {@code attention_mask} for the model: all ones, one per token. */
    public int[] attentionMask() {
        int[] mask = new int[inputIds.length];
        java.util.Arrays.fill(mask, 1);
        return mask;
    }

    /**
     * {@code word_starts} for a model that decodes in its graph: 1 at the first sub-token of
     * each word, 0 elsewhere.
     */
    public int[] wordStartFlags() {
        int[] flags = new int[wordStarts.length];
        for (int p = 0; p < flags.length; p++) {
            flags[p] = wordStarts[p] >= 0 ? 1 : 0;
        }
        return flags;
    }

    /** {@code token_type_ids} for the model: all zeros (one segment). */
    public int[] tokenTypeIds() {
        return new int[inputIds.length];
    }

    /** The Java {@code String} index (UTF-16 units) of code-point offset {@code codePoint} in {@link #text}. */
    public int charIndex(int codePoint) {
        return text.offsetByCodePoints(0, codePoint);
    }

    /** The text between two code-point offsets. */
    public String slice(int start, int end) {
        return text.substring(charIndex(start), charIndex(end));
    }
}
