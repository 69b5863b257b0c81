"""`quote`: any value from a file, a recipe or a flag on one line, at bounded cost."""

from nlu_tf.errors import QUOTE_LIMIT, quote


def test_strings_are_escaped_and_cut():
    assert quote("gelu\n\x1b[2J") == r"'gelu\n\x1b[2J'"
    assert quote("x" * 500) == "'" + "x" * QUOTE_LIMIT + "'..."
    assert quote("x" * 50, 30)[1:-1] == "x" * 30 + "'.."


def test_scalars_read_as_written():
    assert [quote(value) for value in (3, 1.5, None, True, float("nan"))] == \
        ["3", "1.5", "None", "True", "nan"]


def test_containers_show_a_few_items_a_few_levels_deep():
    assert quote(["int8", "bogus"]) == "['int8', 'bogus']"
    assert quote({"slot": "s", "start": 0}) == "{'slot': 's', 'start': 0}"
    assert quote(list(range(10))) == "[0, 1, 2, 3, ...]"
    assert quote((1,)) == "(1,)"
    bomb = ["lol"] * 9
    for _ in range(30):  # a YAML alias bomb: 9**30 strings if anything walked it
        bomb = [bomb] * 9
    assert len(quote(bomb)) <= QUOTE_LIMIT


def test_other_objects_are_shown_by_type_only():
    class Hostile:
        def __repr__(self):
            raise AssertionError("repr called")

    assert quote(Hostile()) == "<Hostile>"
    assert quote([Hostile()]) == "[<Hostile>]"
    assert quote(b"bytes") == "<bytes>"
