"""Safe quoting of names and values that come from untrusted checkpoint files."""

LIMIT = 80


def quote(text, limit=LIMIT):
    """`text` in single quotes, cut to `limit` characters, control characters escaped.

    A name read from a file may hold newlines or terminal escapes; quoted, it stays on
    one visible line. A value that is not a string is shown by its type only, so quoting
    never walks (or `repr`s) an object a file built.
    """
    if not isinstance(text, str):
        return f"<{type(text).__name__}>"
    cut = text[:limit]
    shown = "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
                    for char in cut)
    return f"'{shown}'" + ("..." if len(text) > limit else "")


def shown(value):
    """A JSON scalar as written (`repr`), a string quoted, anything else by its type."""
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= LIMIT else text[:LIMIT] + "..."
    return quote(value)
