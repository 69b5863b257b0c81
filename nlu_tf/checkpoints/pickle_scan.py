"""Static check of a pickle's opcodes before it is unpickled: no memo bombs, no exotic opcodes.

A pickle can reference one memoised object many times for two bytes each; nesting such
references (`t1 = (t0, t0)`, `t2 = (t1, t1)`, ...) builds an object whose hash, `str` or
`repr` costs 2**depth steps from a few hundred bytes. This scan simulates the unpickler's
stack on object *weights* (the node count of the object's fully expanded tree) and refuses
the pickle when any object is heavier than the pickle is long, which no state dict is.
"""

import pickletools

# Opcodes that push one new leaf object.
_ATOMS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE",
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT", "BINFLOAT", "NONE", "NEWTRUE",
    "NEWFALSE", "EMPTY_LIST", "EMPTY_TUPLE", "EMPTY_DICT", "EMPTY_SET", "GLOBAL",
}
_FIXED_TUPLES = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
# Opcodes that pop n objects and push one made of them.
_COMBINE = {"STACK_GLOBAL": 2, "REDUCE": 2, "NEWOBJ": 2, "NEWOBJ_EX": 3, "BINPERSID": 1}
_NOTHING = {"PROTO", "FRAME", "STOP"}


class PickleScanError(ValueError):
    """The pickle uses an unsupported opcode, is malformed, or expands beyond its size."""


def check_pickle(data, max_weight):
    """Raises `PickleScanError` unless every object `data` builds weighs at most `max_weight`.

    Args:
        data: the pickle bytes.
        max_weight: the largest allowed node count of any object's expanded tree.
    """
    stack, marks, memo = [], [], {}

    def pop(count=1):
        if count > len(stack) - (marks[-1] if marks else 0):
            raise PickleScanError("pickle stack underflow")
        taken = stack[len(stack) - count:]
        del stack[len(stack) - count:]
        return sum(taken)

    def pop_mark():
        if not marks:
            raise PickleScanError("pickle MARK missing")
        start = marks.pop()
        taken = sum(stack[start:])
        del stack[start:]
        return taken

    def push(weight):
        if weight > max_weight:
            raise PickleScanError(f"pickle builds an object of more than {max_weight} nodes "
                                  "(memo bomb)")
        stack.append(weight)

    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            if name in _ATOMS:
                push(1)
            elif name in _FIXED_TUPLES:
                push(1 + pop(_FIXED_TUPLES[name]))
            elif name in _COMBINE:
                push(1 + pop(_COMBINE[name]))
            elif name == "MARK":
                marks.append(len(stack))
            elif name in ("TUPLE", "LIST", "DICT", "FROZENSET"):
                push(1 + pop_mark())
            elif name in ("APPEND", "SETITEM", "BUILD"):
                added = pop(2 if name == "SETITEM" else 1)
                push(pop() + added)
            elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
                added = pop_mark()
                push(pop() + added)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                if not stack:
                    raise PickleScanError("pickle memoises an empty stack")
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    raise PickleScanError("pickle reads a memo entry it never wrote")
                push(memo[arg])
            elif name == "DUP":
                push(stack[-1] if stack else 0)
            elif name == "POP":
                if stack and (not marks or len(stack) > marks[-1]):
                    stack.pop()
                else:
                    pop_mark()
            elif name == "POP_MARK":
                pop_mark()
            elif name not in _NOTHING:
                raise PickleScanError(f"unsupported pickle opcode {name}")
    except PickleScanError:
        raise
    except ValueError as error:  # genops: truncated or unknown opcode bytes
        raise PickleScanError(f"malformed pickle ({str(error)[:80]})") from None
