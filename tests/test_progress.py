"""The progress bar and Keras verbosity: a terminal gets a bar redrawn in place, a log file
short lines."""

import io

from nlu_tf.progress import ProgressBar, fit_verbosity


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_file_gets_one_line_per_tenth_and_no_carriage_returns():
    log = io.StringIO()
    bar = ProgressBar(1000, "caching", log)
    for _ in range(1000):
        bar.update()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert len(lines) == 11  # 0/10 ... 10/10 of the way
    assert lines[0].startswith("caching [") and " 1/1000 " in lines[0]
    assert " 1000/1000 " in lines[-1] and "#" * 30 in lines[-1]


def test_a_terminal_gets_the_bar_redrawn_in_place_and_ended_with_a_newline():
    screen = _Terminal()
    bar = ProgressBar(3, "x", screen)
    for _ in range(3):
        bar.update()
    text = screen.getvalue()
    assert text.startswith("\rx [") and text.endswith("3/3 0s\n") and text.count("\n") == 1


def test_no_stream_draws_nothing():
    bar = ProgressBar(5, "x", None)
    bar.update(7)
    assert bar.done == 5


def test_keras_redraws_only_on_a_terminal():
    assert fit_verbosity(1, io.StringIO()) == 2
    assert fit_verbosity(1, _Terminal()) == 1
    assert fit_verbosity(0, io.StringIO()) == 0
    assert fit_verbosity(2, _Terminal()) == 2
