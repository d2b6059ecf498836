"""Helpers shared by the test suites (cluster lookup, polling)."""
