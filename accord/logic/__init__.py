"""Pure decision logic: no I/O, no clocks, no Temporal. Workflows call these; tests cover them directly."""
