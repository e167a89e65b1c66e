"""Real delivery endpoints for tests: an SMTP server (aiosmtpd) on a free local port that keeps what it
receives, parsed as e-mail messages."""

from __future__ import annotations

import email
import email.policy
import socket

from aiosmtpd.controller import Controller


class Inbox:
    """Receives messages (aiosmtpd handler) and keeps them with their envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(([r.lower() for r in envelope.rcpt_tos], parsed))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpts, m in self.messages if address.lower() in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSmtp:
    def __init__(self, inbox: Inbox) -> None:
        self.port = free_port()
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
