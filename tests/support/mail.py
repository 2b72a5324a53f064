"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps what it receives."""

import asyncio
import threading
from contextlib import contextmanager
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from .ports import free_port


class Inbox:
    """The messages received, as (recipients, message); `gate` (if given) holds each delivery until set."""

    def __init__(self, gate: threading.Event | None = None):
        self.messages = []
        self.gate = gate

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's handler name)
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 60)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"

    def deliveries(self) -> list[tuple[str, str, str]]:
        """(recipient, subject, body) of every message, in order of arrival."""
        return [(rcpt, msg["Subject"], msg.get_content()) for rcpts, msg in self.messages for rcpt in rcpts]


@contextmanager
def smtp_server(gate: threading.Event | None = None):
    """Yield (inbox, port) of an SMTP server listening on 127.0.0.1; stopped on exit."""
    inbox, port = Inbox(gate), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        if gate is not None:
            gate.set()  # never leave a delivery waiting on a stopped server
        controller.stop()
