package org.nlutf;

import java.io.IOException;
import java.io.InputStream;
import java.io.File;
import java.io.FileInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * From a model's outputs to an {@link NluResult}, as nlu_tf decodes them.
 *
 * <p>The intent is the argmax of the intent logits, with its softmax probability. Each word is
 * scored by the slot logits at its first sub-token ({@code PAD} and {@code UNK} never chosen),
 * and the words take the tag sequence with the largest sum of scores in which no {@code I-x}
 * (for an x that has a {@code B-x} label) starts the utterance or follows a tag other than
 * {@code B-x} or {@code I-x} (Viterbi; ties go to the lower tag id). A word without a token
 * (dropped to fit {@code max_seq_len}, or nothing left after cleaning) is {@code O}.
 *
 * <p>A model that decodes in its graph gives the tag ids directly: {@link #fromIndices}.
 */
public final class NluDecoder {
    private final List<String> intents;
    private final List<String> slots;
    private final boolean[] blocked;
    private final boolean[] start;
    private final boolean[][] allowed;

    /**
     * @param intents the intent labels, logit index i is label i ({@code intent_label.txt})
     * @param slots the slot tags, logit index i is tag i ({@code slot_label.txt})
     */
    public NluDecoder(List<String> intents, List<String> slots) {
        this.intents = Collections.unmodifiableList(new ArrayList<>(intents));
        this.slots = Collections.unmodifiableList(new ArrayList<>(slots));
        int n = slots.size();
        blocked = new boolean[n];
        for (int i = 0; i < n; i++) {
            blocked[i] = slots.get(i).equals("PAD") || slots.get(i).equals("UNK");
        }
        // I-x is bound (starts nothing, follows only B-x or I-x) when B-x is a label too.
        boolean[] bound = new boolean[n];
        for (int i = 0; i < n; i++) {
            String tag = slots.get(i);
            bound[i] = tag.startsWith("I-") && boundByKind(kind(tag));
        }
        start = new boolean[n];
        allowed = new boolean[n][n];
        for (int i = 0; i < n; i++) {
            start[i] = !bound[i];
            String previous = slots.get(i);
            boolean inSpan = previous.startsWith("B-") || previous.startsWith("I-");
            for (int j = 0; j < n; j++) {
                boolean sameKind = kind(previous).equals(kind(slots.get(j)));
                allowed[i][j] = !bound[j] || (inSpan && sameKind);
            }
        }
    }

    private boolean boundByKind(String kind) {
        for (String tag : slots) {
            if (tag.startsWith("B-") && tag.substring(2).equals(kind)) {
                return true;
            }
        }
        return false;
    }

    private static String kind(String tag) {
        return tag.length() >= 2 ? tag.substring(2) : "";
    }

    /** Reads {@code intent_label.txt} and {@code slot_label.txt} of an export folder. */
    public static NluDecoder fromExportDir(File folder) throws IOException {
        try (InputStream intents = new FileInputStream(new File(folder, "intent_label.txt"));
             InputStream slots = new FileInputStream(new File(folder, "slot_label.txt"))) {
            return fromStreams(intents, slots);
        }
    }

    /** Like {@link #fromExportDir}, from the two label files' contents. */
    public static NluDecoder fromStreams(InputStream intentLabels, InputStream slotLabels)
            throws IOException {
        return new NluDecoder(labels(NluTokenizer.readUtf8(intentLabels)),
                labels(NluTokenizer.readUtf8(slotLabels)));
    }

    private static List<String> labels(String text) {
        List<String> labels = new ArrayList<>();
        for (String line : NluTokenizer.readLines(text)) {
            if (!line.trim().isEmpty()) {
                labels.add(line.trim());
            }
        }
        return labels;
    }

    public List<String> intents() {
        return intents;
    }

    public List<String> slots() {
        return slots;
    }

    /**
     * Decodes the logits of one utterance.
     *
     * @param encoding what the tokenizer gave for the text fed to the model
     * @param intentLogits (I) intent logits
     * @param slotLogits (L, S) slot logits, L at least the encoding's length
     */
    public NluResult decode(Encoding encoding, float[] intentLogits, float[][] slotLogits) {
        if (encoding.numWords() == 0) {
            return new NluResult(encoding, null, null, Collections.<String>emptyList());
        }
        int best = 0;
        for (int i = 1; i < intentLogits.length; i++) {
            if (intentLogits[i] > intentLogits[best]) {
                best = i;
            }
        }
        double sum = 0.0;
        for (float logit : intentLogits) {
            sum += Math.exp((double) logit - (double) intentLogits[best]);
        }
        List<Integer> positions = new ArrayList<>();
        for (int p = 0; p < encoding.wordStarts.length; p++) {
            if (encoding.wordStarts[p] >= 0) {
                positions.add(p);
            }
        }
        double[][] scores = new double[positions.size()][];
        for (int w = 0; w < scores.length; w++) {
            float[] row = slotLogits[positions.get(w)];
            scores[w] = new double[slots.size()];
            for (int s = 0; s < slots.size(); s++) {
                scores[w][s] = blocked[s] ? Double.NEGATIVE_INFINITY : row[s];
            }
        }
        int[] path = bestPath(scores);
        return new NluResult(encoding, intents.get(best), 1.0 / sum, tags(encoding, positions, path));
    }

    /**
     * Builds the result from a model's in-graph decoding.
     *
     * @param encoding what the tokenizer gave for the text fed to the model
     * @param intentId the intent index
     * @param intentProb its probability
     * @param tagIds (L) per token position the tag id of the best path at a word's first
     *     sub-token (other positions are ignored)
     */
    public NluResult fromIndices(Encoding encoding, int intentId, double intentProb, int[] tagIds) {
        if (encoding.numWords() == 0) {
            return new NluResult(encoding, null, null, Collections.<String>emptyList());
        }
        List<Integer> positions = new ArrayList<>();
        for (int p = 0; p < encoding.wordStarts.length; p++) {
            if (encoding.wordStarts[p] >= 0) {
                positions.add(p);
            }
        }
        int[] path = new int[positions.size()];
        for (int w = 0; w < path.length; w++) {
            path[w] = tagIds[positions.get(w)];
        }
        return new NluResult(encoding, intents.get(intentId), intentProb,
                tags(encoding, positions, path));
    }

    private List<String> tags(Encoding encoding, List<Integer> positions, int[] path) {
        String[] tags = new String[encoding.numWords()];
        Arrays.fill(tags, "O");
        for (int w = 0; w < path.length; w++) {
            tags[encoding.wordStarts[positions.get(w)]] = slots.get(path[w]);
        }
        return Arrays.asList(tags);
    }

    /** The tag ids of the best sequence of words that keeps the BIO rule (Viterbi). */
    int[] bestPath(double[][] scores) {
        int words = scores.length;
        int n = slots.size();
        if (words == 0) {
            return new int[0];
        }
        double[] total = new double[n];
        for (int j = 0; j < n; j++) {
            total[j] = start[j] ? scores[0][j] : Double.NEGATIVE_INFINITY;
        }
        int[][] back = new int[words][n];
        for (int step = 1; step < words; step++) {
            double[] next = new double[n];
            for (int j = 0; j < n; j++) {
                int arg = 0;
                double max = allowed[0][j] ? total[0] : Double.NEGATIVE_INFINITY;
                for (int i = 1; i < n; i++) {
                    double candidate = allowed[i][j] ? total[i] : Double.NEGATIVE_INFINITY;
                    if (candidate > max) {
                        max = candidate;
                        arg = i;
                    }
                }
                back[step][j] = arg;
                next[j] = max + scores[step][j];
            }
            total = next;
        }
        int last = 0;
        for (int j = 1; j < n; j++) {
            if (total[j] > total[last]) {
                last = j;
            }
        }
        int[] path = new int[words];
        path[words - 1] = last;
        for (int step = words - 1; step > 0; step--) {
            path[step - 1] = back[step][path[step]];
        }
        return path;
    }
}
