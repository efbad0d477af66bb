"""Reads about members, one module per capability (see members.services)."""
