"""Golden tables: one ``<name>@<version>.jsonl`` per built-in verifier version (package data)."""
