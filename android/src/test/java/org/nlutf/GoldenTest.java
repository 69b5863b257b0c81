package org.nlutf;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Runs the Java tokenizer and decoder over golden vectors written by nlu_tf
 * ({@code nlu-golden-vectors}) and compares every field with the Python results.
 *
 * <p>Usage: {@code java org.nlutf.GoldenTest EXPORT_DIR GOLDEN.jsonl [EXPORT_DIR GOLDEN.jsonl ...]}.
 * Prints each failing case (the first few per kind in full), then {@code N passed, N failed};
 * exits 1 if any case failed or no case was read.
 */
public final class GoldenTest {
    private static final int SHOWN = 20;
    /** nlu-predict rounds the probability to 6 places; the two sums may differ in the last bits. */
    private static final double PROB_TOLERANCE = 1.5e-6;

    private int passed;
    private int failed;

    public static void main(String[] args) throws IOException {
        if (args.length == 0 || args.length % 2 != 0) {
            System.err.println("usage: GoldenTest EXPORT_DIR GOLDEN.jsonl [EXPORT_DIR GOLDEN.jsonl ...]");
            System.exit(2);
        }
        GoldenTest test = new GoldenTest();
        for (int i = 0; i < args.length; i += 2) {
            test.run(Path.of(args[i]), Path.of(args[i + 1]));
        }
        System.out.println(test.passed + " passed, " + test.failed + " failed");
        System.exit(test.failed == 0 && test.passed > 0 ? 0 : 1);
    }

    private void run(Path exportDir, Path golden) throws IOException {
        NluTokenizer tokenizer = NluTokenizer.fromExportDir(exportDir.toFile());
        NluDecoder decoder = NluDecoder.fromExportDir(exportDir.toFile());
        int before = passed;
        try (BufferedReader reader = Files.newBufferedReader(golden, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                Map<String, Object> golden_case = Json.parseObject(line);
                List<String> problems = check(tokenizer, decoder, golden_case);
                if (problems.isEmpty()) {
                    passed++;
                } else {
                    failed++;
                    if (failed <= SHOWN) {
                        System.out.println("FAIL " + golden + ":" + number + " " + golden_case.get("name")
                                + " " + Json.write(golden_case.get("text")) + ": "
                                + String.join("; ", problems));
                    }
                }
            }
        }
        System.out.println(golden + ": " + (passed - before) + " cases equal (lower_case="
                + tokenizer.lowerCase() + ", max_seq_len=" + tokenizer.maxSeqLen() + ")");
    }

    @SuppressWarnings("unchecked")
    static List<String> check(NluTokenizer tokenizer, NluDecoder decoder, Map<String, Object> c) {
        List<String> problems = new ArrayList<>();
        Encoding encoding = tokenizer.encode((String) c.get("text"));
        compare(problems, "input_ids", ints(c.get("input_ids")), encoding.inputIds);
        compare(problems, "word_starts", ints(c.get("word_starts")), encoding.wordStarts);
        List<Object> spans = (List<Object>) c.get("word_spans");
        int[] flat = new int[encoding.wordSpans.length * 2];
        for (int i = 0; i < encoding.wordSpans.length; i++) {
            flat[2 * i] = encoding.wordSpans[i][0];
            flat[2 * i + 1] = encoding.wordSpans[i][1];
        }
        int[] expectedFlat = new int[spans.size() * 2];
        for (int i = 0; i < spans.size(); i++) {
            int[] pair = ints(spans.get(i));
            expectedFlat[2 * i] = pair[0];
            expectedFlat[2 * i + 1] = pair[1];
        }
        compare(problems, "word_spans", expectedFlat, flat);
        if (encoding.truncated != (Boolean) c.get("truncated")) {
            problems.add("truncated " + encoding.truncated + " != " + c.get("truncated"));
        }
        if (!problems.isEmpty()) {
            return problems;
        }
        Map<String, Object> expected = (Map<String, Object>) c.get("expected");
        float[] intentLogits = floats(c.get("intent_logits"));
        List<Object> rows = (List<Object>) c.get("slot_logits");
        float[][] slotLogits = new float[rows.size()][];
        for (int i = 0; i < rows.size(); i++) {
            slotLogits[i] = floats(rows.get(i));
        }
        compareResult(problems, "from logits", expected, decoder.decode(encoding, intentLogits, slotLogits));
        if (c.get("intent_id") != null) {
            NluResult fromIds = decoder.fromIndices(encoding, ((Double) c.get("intent_id")).intValue(),
                    (Double) c.get("intent_prob"), ints(c.get("tag_ids")));
            compareResult(problems, "from indices", expected, fromIds);
        }
        return problems;
    }

    private static void compareResult(List<String> problems, String how, Map<String, Object> expected,
                                      NluResult result) {
        Map<String, Object> actual = result.toMap();
        for (String key : new String[] {"text", "intent", "truncated", "slots", "tags"}) {
            Object want = normalise(expected.get(key));
            Object got = normalise(actual.get(key));
            if (!java.util.Objects.equals(want, got)) {
                problems.add(how + ": " + key + " " + Json.write(got) + " != " + Json.write(want));
            }
        }
        Object want = expected.get("intent_prob");
        Object got = actual.get("intent_prob");
        if ((want == null) != (got == null)
                || (want != null && Math.abs((Double) want - (Double) got) > PROB_TOLERANCE)) {
            problems.add(how + ": intent_prob " + got + " != " + want);
        }
    }

    /** Integers read from JSON are doubles: make numbers comparable across both sides. */
    private static Object normalise(Object value) {
        if (value instanceof Number) {
            return ((Number) value).doubleValue();
        }
        if (value instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object item : (List<?>) value) {
                out.add(normalise(item));
            }
            return out;
        }
        if (value instanceof Map) {
            Map<Object, Object> out = new java.util.LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                out.put(entry.getKey(), normalise(entry.getValue()));
            }
            return out;
        }
        return value;
    }

    private static void compare(List<String> problems, String what, int[] expected, int[] actual) {
        if (!Arrays.equals(expected, actual)) {
            problems.add(what + " " + Arrays.toString(actual) + " != " + Arrays.toString(expected));
        }
    }

    private static int[] ints(Object list) {
        List<?> values = (List<?>) list;
        int[] out = new int[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Double) values.get(i)).intValue();
        }
        return out;
    }

    private static float[] floats(Object list) {
        List<?> values = (List<?>) list;
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Double) values.get(i)).floatValue();
        }
        return out;
    }
}
