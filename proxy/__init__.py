"""Egress identities: proxy tiers, per-proxy circuit breakers and shared state. Knows nothing of NBA sources."""
