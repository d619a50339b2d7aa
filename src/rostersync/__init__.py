"""rostersync: keeps a school platform's roster in step with the district's SIS, safely."""

from rostersync import compiled as _compiled

__version__ = "0.1.0"

# Before any of the compiled modules is imported: use them only if built from these sources.
_compiled.install()
