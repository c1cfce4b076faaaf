"""Helpers for tests that drive relays and consumers against the real servers."""
