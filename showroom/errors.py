"""The base of every error that Showroom reports to a person as one line."""

from __future__ import annotations


class ShowroomError(Exception):
    """An error caused by input a person can fix; the CLI prints it and exits 1."""
