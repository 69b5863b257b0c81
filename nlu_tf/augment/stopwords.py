"""A small built-in list of English stop words: they are never replaced nor used as replacements.

Replacing a function word ("to", "the", "for") rarely keeps the meaning of a command, and
is where masked-LM and embedding neighbours are least reliable.
"""

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just let me more most my myself no nor not now of off on once only or other our ours
ourselves out over own please same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
s t d ll m o re ve y
""".split())
