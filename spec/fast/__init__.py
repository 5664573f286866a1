"""The fast evaluation of the rules: packed states (``layout``), the rules read as terms
(``terms``) and compiled to straight-line Python (``compiler``), the nodes worth asking
(``performers``) and the memo tables (``evaluator``). Nothing here decides anything: it
computes what the rules say, faster, and is tested against the plain reading."""
