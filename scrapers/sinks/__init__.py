"""Where documents land: a local folder (default) or a GCS bucket; create-only, never overwrite."""
