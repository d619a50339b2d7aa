"""Tests of the Clever Data API client, the inspect use case and its CLI."""
