package org.nlutf.example;

import java.io.IOException;
import java.io.File;
import java.util.HashMap;
import java.util.Map;
import org.nlutf.Encoding;
import org.nlutf.NluDecoder;
import org.nlutf.NluResult;
import org.nlutf.NluTokenizer;
import org.tensorflow.lite.Interpreter;

/**
 * The whole call with the plain Interpreter: tokenize, run the {@code .tflite} of an nlu_tf
 * export folder through its signature (inputs {@code input_ids}, {@code attention_mask},
 * {@code token_type_ids}, {@code word_starts}, int32 (1, L)), and map the indices its graph
 * decodes ({@code intent_id} (1), {@code intent_prob} (1), {@code slot_ids} (1, L)) to labels.
 * The graph also outputs {@code intent_logits} (1, I) and {@code slot_logits} (1, L, S), which
 * {@link NluDecoder#decode} turns into the same result.
 *
 * <p>On Android, read {@code vocab.txt}, {@code model_info.json} and the label files from the
 * app's assets with {@link NluTokenizer#fromStreams} and {@link NluDecoder#fromStreams}, and
 * create the interpreter from the model's {@code ByteBuffer}.
 */
public final class NluExample {
    private final NluTokenizer tokenizer;
    private final NluDecoder decoder;
    private final Interpreter interpreter;

    public NluExample(File exportDir) throws IOException {
        this.tokenizer = NluTokenizer.fromExportDir(exportDir);
        this.decoder = NluDecoder.fromExportDir(exportDir);
        this.interpreter = new Interpreter(new File(exportDir, "model.tflite"));
    }

    /** Intent and slots of one utterance, as nlu-predict's JSON line. */
    public String predict(String text) {
        Encoding encoding = tokenizer.encode(text);
        if (encoding.numWords() == 0) {
            // Nothing to send to the model: intent and probability are null, no slots.
            return decoder.decode(encoding, new float[0], new float[0][]).toJson();
        }
        Map<String, Object> inputs = new HashMap<>();
        inputs.put("input_ids", new int[][] {encoding.inputIds});
        inputs.put("attention_mask", new int[][] {encoding.attentionMask()});
        inputs.put("token_type_ids", new int[][] {encoding.tokenTypeIds()});
        inputs.put("word_starts", new int[][] {encoding.wordStartFlags()});
        int[] intentId = new int[1];
        float[] intentProb = new float[1];
        int[][] slotIds = new int[1][encoding.length()];
        Map<String, Object> outputs = new HashMap<>();
        outputs.put("intent_id", intentId);
        outputs.put("intent_prob", intentProb);
        outputs.put("slot_ids", slotIds);
        interpreter.runSignature(inputs, outputs);
        NluResult result = decoder.fromIndices(encoding, intentId[0], intentProb[0], slotIds[0]);
        return result.toJson();
    }
}
