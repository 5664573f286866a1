"""crg.spec: the executable formal model of cooperative resource groups."""
