"""The resilient HTTP core: classification, limiting, tiers, retries, record/replay."""
