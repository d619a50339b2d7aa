"""The pure core: records, diffs, policies and the sync state machine. No I/O here."""
