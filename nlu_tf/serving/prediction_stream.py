"""Prediction over a stream of lines with memory bounded by a window, not by the input.

Lines are read lazily, a window of a few batches at a time; inside a window they are
batched by length as in `nlu_tf.serving.prediction.predict_lines`, and the results come out in
input order. The truncation warning counts the whole stream once, at its end.
"""

from nlu_tf.serving.prediction import log_truncated, predict_chunk


def _windows(lines, size):
    """Groups `lines` into lists holding `size` lines with words (the empty ones ride along,
    at most `4 * size` lines in all), so that every batch of a window but the last is full."""
    window, worded = [], 0
    for line in lines:
        window.append(line)
        worded += bool(line) and not line.isspace()
        if worded >= size or len(window) >= 4 * size:
            yield window
            window, worded = [], 0
    if window:
        yield window


def predict_stream(predictor, lines, batch_size=64, window_batches=16):
    """Yields one `LinePrediction` per input line, in order, reading `lines` lazily.

    Args:
        predictor: a `nlu_tf.predictor.Predictor`.
        lines: an iterable of input lines (str), e.g. `nlu_tf.data.text_lines.iter_lines`.
        batch_size: lines per forward pass.
        window_batches: batches sorted by length together; at most
            `4 * batch_size * window_batches` lines are held at a time.
    """
    if batch_size < 1 or window_batches < 1:
        raise ValueError(f"batch_size and window_batches must be positive, got {batch_size} "
                         f"and {window_batches}")
    truncated = total = 0
    for window in _windows(lines, batch_size * window_batches):
        for result in predict_chunk(predictor, window, batch_size):
            truncated += result.truncated
            total += 1
            yield result
    log_truncated(truncated, total, predictor.max_seq_len)
