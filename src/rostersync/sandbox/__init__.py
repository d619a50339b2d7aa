"""The Clever Data API v3.0 sandbox: a local server, a district generator, and fault injection.

It is the demo's data source and the tests' counterpart for the Clever client. Importing the
package does nothing; see ``generator``, ``state`` and ``server`` (and docs/sandbox.md).
"""
