"""Partnership documents (the MOU and its revisions): rendering, storage, comparison."""
