"""`python -m demo` (`make demo`): tell the whole Stint story against the running platform (`make up`)."""

from __future__ import annotations

import argparse
import sys
import time

from demo.cast import cast_for, new_run_id
from demo.platform import DEFAULT_URLS, Platform, PlatformDown, StoryFailed
from demo.story import run_story
from shared.dotenv import load_dotenv

EXIT_STORY_FAILED, EXIT_PLATFORM_DOWN = 1, 2


def parse_args(argv: list[str] | None, env: dict[str, str]) -> argparse.Namespace:
    """Base URLs and the secret from arguments, else STINT_* variables (environment, then .env), else defaults."""
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    for service, default in DEFAULT_URLS.items():
        variable = f"STINT_{service.upper()}_URL"
        parser.add_argument(
            f"--{service}-url",
            default=env.get(variable, default),
            help=f"base URL of the {service} service (env {variable}; default {default})",
        )
    parser.add_argument(
        "--secret",
        default=env.get("STINT_AUTH_SECRET", ""),
        help="the platform's STINT_AUTH_SECRET, to sign the demo's tokens (default: from the environment or .env)",
    )
    parser.add_argument(
        "--web-url",
        default=env.get("STINT_WEB_URL", "http://127.0.0.1:8000"),
        help="the web front door, for the links the demo ends with (env STINT_WEB_URL)",
    )
    parser.add_argument("--run-id", default=None, help="make the run's ids from this (default: fresh random ids)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each event-driven step")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the story; 0 when every step turned out as it should."""
    args = parse_args(argv, load_dotenv())
    if not args.secret:
        print("✗ STINT_AUTH_SECRET is not set: run `make up` first (it writes .env)", file=sys.stderr)
        return EXIT_PLATFORM_DOWN
    urls = {service: getattr(args, f"{service}_url") for service in DEFAULT_URLS}
    platform = Platform(urls, wait_seconds=args.timeout)
    run = args.run_id or new_run_id()
    started = time.monotonic()
    try:
        platform.check_up()
        print(f"Stint demo, run {run}: one micro-internship from listing to academic credit\n", flush=True)
        outcome = run_story(platform, cast_for(run, args.secret), say=lambda line: print(line, flush=True))
    except PlatformDown as exc:
        print(f"✗ Stint is not running: {exc}", file=sys.stderr)
        return EXIT_PLATFORM_DOWN
    except StoryFailed as exc:
        print(f"✗ The story stopped: {exc}", file=sys.stderr)
        return EXIT_STORY_FAILED
    print(f"(the whole story took {time.monotonic() - started:.1f} s)")
    print_web_links(args.web_url.rstrip("/"), outcome)
    return 0


def print_web_links(web: str, outcome) -> None:
    """Where to see the story as people do: the web's pages (sign in with `make user` accounts)."""
    print("\nSee it in the web:")
    print(f"  the listing         {web}/listings/{outcome.listing_id}")
    print(f"  the credential      {web}/verify/{outcome.credential_uuid}")
    print(f"  search and sign in  {web}/   (accounts: make user ROLE=student EMAIL=you@example.org)")


if __name__ == "__main__":
    sys.exit(main())
