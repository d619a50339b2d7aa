"""rostersync: keeps a school platform's roster in step with the district's SIS, safely."""

__version__ = "0.1.0"
