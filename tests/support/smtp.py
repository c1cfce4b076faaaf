"""A real SMTP server (aiosmtpd) on a free local port, keeping every message it receives."""

from __future__ import annotations

import contextlib
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from devservers import free_port


@dataclass
class MailCatcher:
    """What the SMTP server received: (envelope recipients, parsed message) pairs."""

    url: str
    received: list = field(default_factory=list)

    def to(self, address: str) -> list:
        """Messages delivered to `address`."""
        return [message for rcpts, message in self.received if address in rcpts]

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server() -> Iterator[MailCatcher]:
    """Run a real SMTP server for the duration of the block."""
    port = free_port()
    catcher = MailCatcher(url=f"smtp://127.0.0.1:{port}")
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield catcher
    finally:
        controller.stop()
