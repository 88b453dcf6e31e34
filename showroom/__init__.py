"""Showroom: a virtual showroom and runway event simulator."""

__version__ = "0.1.0"
