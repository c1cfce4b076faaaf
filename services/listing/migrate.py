"""Move listings written with free-text categories onto the work domains, once (the worker also does it at start).

Run as `python -m services.listing.migrate`; running it again changes nothing.
"""

from __future__ import annotations

from services.listing import handlers, store
from shared.config import load_settings
from shared.logs import configure_logging
from shared.mongo import connect


def main() -> None:
    """Map every free-text category and say how many listings moved."""
    settings = load_settings("listing")
    configure_logging("listing-migrate")
    db = connect(settings)
    store.ensure_indexes(db)
    moved = handlers.map_free_text_categories(db)
    print(f"{moved} listing(s) moved onto a work domain")


if __name__ == "__main__":
    main()
