"""Accord: partnership governance as code, on Temporal."""
