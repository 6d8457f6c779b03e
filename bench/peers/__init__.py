"""Peer crawlers on the chaos benchmark: crawlee-python and Scrapy, each in its own process.

`bench.peers.runner` is the shared part: the parent side starts a peer's process, runs the
simulator around it and turns its results into a `PolicyRun`; the child side turns the benchmark's
jobs into the peer's requests and its responses back into job results. One module per peer holds
that peer's configuration (`crawlee_peer`, `scrapy_peer`); both need the optional `peers` extra.
"""
