"""The mutation harness: how strong the invariants are.

Plausible slips are generated from the rules' own source (:mod:`.operators`) and from the
placement order the topology computes once per configuration, installed one at a time in
a private copy of the rule modules while the invariants keep the originals
(:mod:`.world`), and judged by ``crg check`` on small configurations built for it and on
the examples (:mod:`.judge`); what was found is kept in :mod:`.catalogue`, which the test
suite replays. ``benchmarks/mutation_score.py`` runs it and prints the score and the
survivors.
"""
