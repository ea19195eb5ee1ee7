"""Examples of httpops in use (importable so the tests can run them)."""
