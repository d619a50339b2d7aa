"""Use cases and the ports (Protocols) they need from the outside world."""
