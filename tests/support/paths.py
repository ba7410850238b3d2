"""Where the tests' own files are: the sample definitions and data, the saved histories, the project."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DATA = TESTS / "data"
HISTORIES = TESTS / "histories"
