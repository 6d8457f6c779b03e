"""Egress identities: proxy tiers, per-proxy circuit breakers, shared state. No NBA knowledge."""
