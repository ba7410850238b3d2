"""Outgoing email: rendering and delivery backends (the send ledger that prevents duplicates is in accord/storage/)."""
