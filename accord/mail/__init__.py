"""Outgoing email: rendering, delivery backends, and the send ledger that prevents duplicates."""
