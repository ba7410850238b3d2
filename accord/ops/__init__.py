"""Running Accord for real: configuration checks, telemetry (metrics, logs, tracing),
the worker's health and metrics endpoint, and the operator's watch and diagram views."""
