"""Partnership documents (the MOU and its revisions): rendering and comparison (they are stored by accord/storage/)."""
