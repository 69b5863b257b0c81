package org.nlutf;

import java.io.IOException;
import java.io.InputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.io.File;
import java.io.FileInputStream;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT WordPiece tokenization of raw text, equal to nlu_tf's
 * {@code WordPieceTokenizer.encode_text} (proven on golden vectors that nlu_tf writes).
 *
 * <ol>
 * <li>the text is split into words on whitespace (the characters Python's {@code str.isspace}
 *     accepts), each word keeping its code-point offsets;</li>
 * <li>per word: NUL, U+FFFD and control/format/unassigned characters are dropped, other
 *     whitespace becomes a space, CJK ideographs get spaces around them;</li>
 * <li>when the model lower-cases: NFD, non-spacing marks dropped, then each code point
 *     lower-cased on its own (so a final capital sigma becomes σ, not ς);</li>
 * <li>split on spaces and around punctuation (Unicode P* and the ASCII symbols);</li>
 * <li>greedy longest-match-first WordPiece with {@code ##} continuations; a token that cannot
 *     be covered, or is longer than {@code max_chars_per_word} code points, is {@code [UNK]};</li>
 * <li>{@code [CLS] pieces [SEP]}; whole words are dropped from the end to fit
 *     {@code max_seq_len}.</li>
 * </ol>
 *
 * <p>Not thread-safe (it caches the pieces of the words it has seen); use one per thread.
 */
public final class NluTokenizer {
    public static final String CLS = "[CLS]";
    public static final String SEP = "[SEP]";
    public static final String PAD = "[PAD]";
    public static final String UNK = "[UNK]";
    private static final String CONTINUATION = "##";
    private static final int CACHE_LIMIT = 50_000;
    private static final int[][] CJK_RANGES = {
        {0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
        {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF}, {0xF900, 0xFAFF}, {0x2F800, 0x2FA1F},
    };

    private final Map<String, Integer> index = new HashMap<>();
    private final boolean lowerCase;
    private final int maxSeqLen;
    private final int maxCharsPerWord;
    private final Map<String, int[]> cache = new LinkedHashMap<>();
    private final int clsId;
    private final int sepId;
    private final int unkId;

    /**
     * @param vocab the tokens in id order (the lines of {@code vocab.txt})
     * @param lowerCase lower-case and strip accents (uncased checkpoints)
     * @param maxSeqLen the longest input the model takes, special tokens included (at least 2)
     * @param maxCharsPerWord longer tokens become {@code [UNK]} (nlu_tf's default is 100)
     */
    public NluTokenizer(List<String> vocab, boolean lowerCase, int maxSeqLen, int maxCharsPerWord) {
        for (int i = 0; i < vocab.size(); i++) {
            index.put(vocab.get(i), i);
        }
        for (String special : new String[] {CLS, SEP, PAD, UNK}) {
            if (!index.containsKey(special)) {
                throw new IllegalArgumentException("vocabulary lacks " + special);
            }
        }
        if (maxSeqLen < 2) {
            throw new IllegalArgumentException("max_seq_len must be at least 2, got " + maxSeqLen);
        }
        this.lowerCase = lowerCase;
        this.maxSeqLen = maxSeqLen;
        this.maxCharsPerWord = maxCharsPerWord;
        this.clsId = index.get(CLS);
        this.sepId = index.get(SEP);
        this.unkId = index.get(UNK);
    }

    /**
     * Reads {@code vocab.txt} and {@code model_info.json} ({@code lower_case},
     * {@code max_seq_len}, optional {@code max_chars_per_word}) of an nlu_tf export folder.
     */
    public static NluTokenizer fromExportDir(File folder) throws IOException {
        try (InputStream vocab = new FileInputStream(new File(folder, "vocab.txt"));
             InputStream info = new FileInputStream(new File(folder, "model_info.json"))) {
            return fromStreams(vocab, info);
        }
    }

    /** Like {@link #fromExportDir}, from the two files' contents (e.g. Android assets). */
    public static NluTokenizer fromStreams(InputStream vocabTxt, InputStream modelInfoJson)
            throws IOException {
        Map<String, Object> info = Json.parseObject(readUtf8(modelInfoJson));
        Object lower = info.get("lower_case");
        Object maxLen = info.get("max_seq_len");
        if (!(lower instanceof Boolean) || !(maxLen instanceof Double)) {
            throw new IllegalArgumentException("model_info.json lacks lower_case or max_seq_len");
        }
        Object maxChars = info.getOrDefault("max_chars_per_word", 100.0);
        return new NluTokenizer(readLines(readUtf8(vocabTxt)), (Boolean) lower,
                ((Double) maxLen).intValue(), ((Double) maxChars).intValue());
    }

    static String readUtf8(InputStream stream) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = stream.read(buffer)) > 0) {
            out.write(buffer, 0, n);
        }
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    /** The lines of a text file as Python reads them: LF, CRLF or CR end a line. */
    static List<String> readLines(String text) {
        List<String> lines = new ArrayList<>(java.util.Arrays.asList(text.split("\r\n|\r|\n", -1)));
        if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }

    public boolean lowerCase() {
        return lowerCase;
    }

    public int maxSeqLen() {
        return maxSeqLen;
    }

    /** The id of {@code token}, or {@code [UNK]}'s. */
    public int tokenToId(String token) {
        return index.getOrDefault(token, unkId);
    }

    /** The id of {@code [PAD]}, for padding a batch. */
    public int padId() {
        return index.get(PAD);
    }

    /** Splits {@code text} into words and encodes them; see the class comment. */
    public Encoding encode(String text) {
        int[] cps = text.codePoints().toArray();
        List<int[]> spans = new ArrayList<>();
        int i = 0;
        while (i < cps.length) {
            if (isPythonSpace(cps[i])) {
                i++;
                continue;
            }
            int start = i;
            while (i < cps.length && !isPythonSpace(cps[i])) {
                i++;
            }
            spans.add(new int[] {start, i});
        }
        int budget = maxSeqLen - 2;
        int[] ids = new int[maxSeqLen];
        int[] starts = new int[maxSeqLen];
        int length = 0;
        ids[length] = clsId;
        starts[length++] = -1;
        boolean truncated = false;
        for (int word = 0; word < spans.size(); word++) {
            int[] span = spans.get(word);
            int[] pieces = wordPieces(new String(cps, span[0], span[1] - span[0]));
            if (pieces.length == 0) {
                continue;
            }
            if (length - 1 + pieces.length > budget) {
                truncated = true;
                break;
            }
            for (int p = 0; p < pieces.length; p++) {
                ids[length] = pieces[p];
                starts[length++] = p == 0 ? word : -1;
            }
        }
        ids[length] = sepId;
        starts[length++] = -1;
        return new Encoding(text, java.util.Arrays.copyOf(ids, length),
                java.util.Arrays.copyOf(starts, length), truncated, spans.toArray(new int[0][]));
    }

    /** The WordPiece ids of one whitespace-free word (possibly none). */
    public int[] wordPieces(String word) {
        int[] cached = cache.get(word);
        if (cached != null) {
            return cached;
        }
        List<Integer> ids = new ArrayList<>();
        for (int[] token : basicTokens(word)) {
            wordPiece(token, ids);
        }
        int[] result = ids.stream().mapToInt(Integer::intValue).toArray();
        if (cache.size() >= CACHE_LIMIT) {
            cache.clear();
        }
        cache.put(word, result);
        return result;
    }

    /** Cleans, normalises and splits a word on whitespace and punctuation (code points per token). */
    List<int[]> basicTokens(String word) {
        StringBuilder clean = new StringBuilder();
        word.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return;
            }
            if (isWhitespace(cp)) {
                clean.append(' ');
            } else if (isCjk(cp)) {
                clean.append(' ').appendCodePoint(cp).append(' ');
            } else {
                clean.appendCodePoint(cp);
            }
        });
        String text = clean.toString();
        if (lowerCase) {
            StringBuilder lowered = new StringBuilder();
            Normalizer.normalize(text, Normalizer.Form.NFD).codePoints().forEach(cp -> {
                if (Character.getType(cp) != Character.NON_SPACING_MARK) {
                    lowered.appendCodePoint(lowerCodePoint(cp));
                }
            });
            text = lowered.toString();
        }
        List<int[]> tokens = new ArrayList<>();
        for (String part : text.split(" ")) {
            int[] cps = part.codePoints().toArray();
            int start = 0;
            for (int i = 0; i < cps.length; i++) {
                if (isPunctuation(cps[i])) {
                    if (start < i) {
                        tokens.add(java.util.Arrays.copyOfRange(cps, start, i));
                    }
                    tokens.add(new int[] {cps[i]});
                    start = i + 1;
                }
            }
            if (start < cps.length) {
                tokens.add(java.util.Arrays.copyOfRange(cps, start, cps.length));
            }
        }
        return tokens;
    }

    /** Greedy longest-match-first WordPiece of one basic token, appended to {@code out}. */
    private void wordPiece(int[] token, List<Integer> out) {
        if (token.length > maxCharsPerWord) {
            out.add(unkId);
            return;
        }
        List<Integer> pieces = new ArrayList<>();
        int start = 0;
        while (start < token.length) {
            int end = token.length;
            Integer found = null;
            while (end > start) {
                String piece = new String(token, start, end - start);
                found = index.get(start == 0 ? piece : CONTINUATION + piece);
                if (found != null) {
                    break;
                }
                end--;
            }
            if (found == null) {
                out.add(unkId);
                return;
            }
            pieces.add(found);
            start = end;
        }
        out.addAll(pieces);
    }

    /** Python's {@code str.lower()} of one code point (U+0130 is the one full mapping of two). */
    private static int lowerCodePoint(int cp) {
        return Character.toLowerCase(cp);
    }

    /** The characters Python's {@code str.isspace()} and regex {@code \s} accept. */
    static boolean isPythonSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85
                || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    /** Space, tab, newline, carriage return, and the Unicode separators (Zs, Zl, Zp). */
    static boolean isWhitespace(int cp) {
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.SPACE_SEPARATOR || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR;
    }

    /** Other (C*) characters, except tab, newline and carriage return. */
    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                || type == Character.PRIVATE_USE || type == Character.UNASSIGNED;
    }

    /** Unicode punctuation (P*), plus every ASCII non-alphanumeric printable character. */
    static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96)
                || (cp >= 123 && cp <= 126)) {
            return true;
        }
        switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION:
            case Character.DASH_PUNCTUATION:
            case Character.START_PUNCTUATION:
            case Character.END_PUNCTUATION:
            case Character.INITIAL_QUOTE_PUNCTUATION:
            case Character.FINAL_QUOTE_PUNCTUATION:
            case Character.OTHER_PUNCTUATION:
                return true;
            default:
                return false;
        }
    }

    static boolean isCjk(int cp) {
        for (int[] range : CJK_RANGES) {
            if (cp >= range[0] && cp <= range[1]) {
                return true;
            }
        }
        return false;
    }
}
