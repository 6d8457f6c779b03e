"""The emulators these tests share with tests/integration (one instance per pytest process)."""

from tests.integration.conftest import gcs_endpoint, pubsub_host

__all__ = ["gcs_endpoint", "pubsub_host"]
