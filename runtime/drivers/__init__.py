"""Process supervisor, monitors and event sinks."""
