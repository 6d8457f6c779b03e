"""Cross-source checks over landed documents: the same games' player lines from every source."""
