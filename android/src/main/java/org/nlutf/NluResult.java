package org.nlutf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The decoded prediction for one utterance, in the shape of {@code nlu-predict --format json}:
 * {@code {"text", "intent", "intent_prob", "truncated", "slots": [{"slot", "text", "start",
 * "end"}], "tags"}}. Offsets are code points into {@link #text}.
 */
public final class NluResult {
    /** One slot span: a run of BIO tags merged the way conlleval (and slot F1) does. */
    public static final class Slot {
        public final String slot;
        public final String text;
        public final int start;
        public final int end;

        Slot(String slot, String text, int start, int end) {
            this.slot = slot;
            this.text = text;
            this.start = start;
            this.end = end;
        }

        Map<String, Object> toMap() {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("slot", slot);
            map.put("text", text);
            map.put("start", start);
            map.put("end", end);
            return map;
        }
    }

    public final String text;
    /** The intent, or null for a text without words (not sent to the model). */
    public final String intent;
    /** The intent's softmax probability, or null for a text without words. */
    public final Double intentProb;
    public final boolean truncated;
    public final List<Slot> slots;
    /** One BIO tag per whitespace-separated word. */
    public final List<String> tags;

    NluResult(Encoding encoding, String intent, Double intentProb, List<String> tags) {
        this.text = encoding.text;
        this.intent = intent;
        this.intentProb = intentProb;
        this.truncated = intent != null && encoding.truncated;
        this.tags = Collections.unmodifiableList(new ArrayList<>(tags));
        this.slots = Collections.unmodifiableList(spans(encoding, tags));
    }

    /** Merges BIO tags into spans: a span starts at B-x, or at an I-x that does not continue x. */
    private static List<Slot> spans(Encoding encoding, List<String> tags) {
        List<Slot> spans = new ArrayList<>();
        String current = null;
        int first = 0;
        int last = 0;
        for (int i = 0; i <= tags.size(); i++) {
            String tag = i < tags.size() ? tags.get(i) : "O";
            int dash = tag.indexOf('-');
            String prefix = dash < 0 ? tag : tag.substring(0, dash);
            String name = dash < 0 ? "" : tag.substring(dash + 1);
            boolean continues = prefix.equals("I") && name.equals(current);
            if (current != null && !continues) {
                int start = encoding.wordSpans[first][0];
                int end = encoding.wordSpans[last][1];
                spans.add(new Slot(current, encoding.slice(start, end), start, end));
                current = null;
            }
            if ((prefix.equals("B") || prefix.equals("I")) && !continues) {
                current = name;
                first = i;
            }
            last = i;
        }
        return spans;
    }

    /** The prediction as a map in the order of nlu-predict's JSON (probability rounded to 6 places). */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("text", text);
        map.put("intent", intent);
        map.put("intent_prob", intentProb == null ? null : Math.round(intentProb * 1e6) / 1e6);
        map.put("truncated", truncated);
        List<Object> slotMaps = new ArrayList<>();
        for (Slot slot : slots) {
            slotMaps.add(slot.toMap());
        }
        map.put("slots", slotMaps);
        map.put("tags", new ArrayList<Object>(tags));
        return map;
    }

    /** One JSON line, as {@code nlu-predict --format json} writes it. */
    public String toJson() {
        return Json.write(toMap());
    }
}
