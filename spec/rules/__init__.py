"""The rules of the model, one module per part of SPEC.md: what a group's rules may read
(``view``), the placement decision (``placement``), what each node should hold
(``roles``), the run method (``run``), the halt method (``halt``), watchdog, fencing and
alerts (``care``), the environment (``events``), and the registry tying each action kind
to its rule (``registry``)."""
