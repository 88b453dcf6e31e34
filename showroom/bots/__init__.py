"""Headless bots that speak the wire protocol, and the load test that drives thousands of them."""
