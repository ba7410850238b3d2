"""Partnership definitions: the schema, its cross-field checks, and the YAML loader."""

from pathlib import Path

from definitions.loader import DefinitionError, Issue, load, parse
from definitions.schema import PartnershipDefinition

SAMPLES = Path(__file__).parent / "samples"
TEMPLATES = Path(__file__).parent / "templates"

__all__ = ["SAMPLES", "TEMPLATES", "DefinitionError", "Issue", "PartnershipDefinition", "load", "parse"]
