"""What `accord report` writes: the audit export (machine-readable) and the status report (HTML)."""
