"""The vocabulary the rules are written in: the algebra (one rule text, three readings),
the state variables, the constant topology of a configuration, and the actions."""
