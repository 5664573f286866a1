"""crg.runtime: the reference runtime executing the spec's rules."""
