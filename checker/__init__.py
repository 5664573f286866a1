"""crg.checker: explicit-state and symbolic checking of the spec."""
