"""Completion messages: what downstream learns about each run."""
