"""Transports: thin adapters that carry the camera's endpoints to a host."""
