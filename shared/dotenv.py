"""Local settings: the git-ignored .env at the project root, overridden by the real environment."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_dotenv(path: Path | None = None) -> dict[str, str]:
    """The .env values with os.environ on top (the environment wins)."""
    file = path or PROJECT_ROOT / ".env"
    values = {k: v for k, v in dotenv_values(file).items() if v is not None} if file.exists() else {}
    values.update(os.environ)
    return values
