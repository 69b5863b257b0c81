package org.tensorflow.lite;

import java.io.File;
import java.util.Map;

/**
 * A compile-time stand-in for the few members of LiteRT / TF Lite's
 * {@code org.tensorflow.lite.Interpreter} that the example calls, so that the example
 * compiles on a plain JVM without the Android library. In an app the real class takes its
 * place; this file is never packaged, and every method here only throws.
 */
public class Interpreter implements AutoCloseable {
    public Interpreter(File modelFile) {
        throw new UnsupportedOperationException("compile-time stub of the TF Lite Interpreter");
    }

    /** Runs the model's default signature; inputs of a new shape are resized first. */
    public void runSignature(Map<String, Object> inputs, Map<String, Object> outputs) {
        throw new UnsupportedOperationException("compile-time stub of the TF Lite Interpreter");
    }

    @Override
    public void close() {
    }
}
