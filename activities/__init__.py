"""Activities: every piece of I/O the workflows need, and nothing else."""
