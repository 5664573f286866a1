"""Reports of a check, one module per format: text for people, JSON, SARIF and JUnit for
tools and CI, ITF for traces. They read :class:`~crg.checker.result.CheckReport` and never
explore anything themselves."""
