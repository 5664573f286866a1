"""Address drivers (loopback, null, linux)."""
