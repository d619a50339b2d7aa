"""The district-scale benchmark (``make bench``, ``python -m rostersync.bench``).

It exists to keep the sync honest about scale: it generates a district once with the sandbox
generator (cached under ``.bench/``), serves it from a sandbox in its own process over
loopback, and measures the sync in a separate child process (CPU time, peak RSS, requests,
rows written) next to the floor: the same pages fetched, decoded and hashed with no store.
See docs/performance.md for the targets and the latest figures.
"""
