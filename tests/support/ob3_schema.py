"""Open Badges 3.0 JSON Schema checks of credentials (see tests/support/ob3/README.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema.validators import validator_for

SCHEMA_DIR = Path(__file__).resolve().parent / "ob3"
# Stint's closed-world schema of the OB 3.0 AchievementCredential: every class allows only its own properties.
STRICT = SCHEMA_DIR / "achievementcredential.strict.schema.json"
# 1EdTech's published schema, checked too when a copy is placed here (the README says why none is committed).
OFFICIAL = SCHEMA_DIR / "ob_v3p0_achievementcredential_schema.json"


@cache
def _validator(path: Path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(credential: dict, schema: Path = STRICT) -> list[str]:
    """Every way `credential` breaks the schema, as "path: message" lines (none when it conforms)."""
    errors = _validator(schema).iter_errors(credential)
    return sorted(f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}" for error in errors)
