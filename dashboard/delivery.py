"""Sending what the dashboard produces to people: e-mail over SMTP.

The SMTP settings come from the environment (DASHBOARD_SMTP_HOST, _PORT, _STARTTLS, _USER, _PASSWORD,
_FROM) or, for any not set there, from the [smtp] table of .streamlit/secrets.toml (host, port, starttls,
user, password, from) -- never from a command's arguments or a rules file, so credentials stay out of
shell history and version control.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tomllib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .config import REPO_ROOT

TIMEOUT_SECONDS = 30


class DeliverySettingError(ValueError):
    """The SMTP settings are missing or unusable; the message names the setting."""


class DeliveryError(RuntimeError):
    """A message could not be delivered; the message says what the server or network answered."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    sender: str


def secrets_path():
    return REPO_ROOT / ".streamlit" / "secrets.toml"


def _secrets_smtp() -> dict:
    path = secrets_path()
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("smtp", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DeliverySettingError(f"{path} cannot be read for its [smtp] settings: {exc}") from None
    if not isinstance(table, dict):
        raise DeliverySettingError(f"{path}: smtp must be a table ([smtp])")
    return table


def smtp_settings() -> SmtpSettings:
    """The SMTP settings, checked: a missing host or sender, or a port or STARTTLS flag that is not one,
    is a DeliverySettingError naming the environment variable and the secrets key."""
    secrets = _secrets_smtp()

    def get(key: str) -> str | None:
        value = os.environ.get(f"DASHBOARD_SMTP_{key.upper()}")
        if value is None or value.strip() == "":
            value = secrets.get(key)
        return None if value is None else str(value).strip()

    def named(key: str) -> str:
        return f"DASHBOARD_SMTP_{key.upper()} (or {key} in the [smtp] table of {secrets_path()})"

    host, sender = get("host"), get("from")
    if not host:
        raise DeliverySettingError(f"no SMTP server: set {named('host')}")
    if not sender or "@" not in sender:
        raise DeliverySettingError(f"no sender address: set {named('from')} to an e-mail address")
    port_text = get("port") or "587"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DeliverySettingError(f"{named('port')} is {port_text!r}, not a port number")
    starttls_text = (get("starttls") or "1").lower()
    if starttls_text not in ("1", "0", "true", "false", "yes", "no"):
        raise DeliverySettingError(f"{named('starttls')} is {starttls_text!r}: give 1 or 0")
    user, password = get("user") or None, get("password") or None
    if (user is None) != (password is None):
        raise DeliverySettingError(f"give both {named('user')} and {named('password')}, or neither")
    return SmtpSettings(host, int(port_text), starttls_text in ("1", "true", "yes"), user, password, sender)


def send_mail(
    settings: SmtpSettings, to: str, subject: str, text: str, attachments: list[tuple[str, bytes, str]] = ()
) -> None:
    """One message to one recipient, with (file name, bytes, MIME type) attachments; any failure is a
    DeliveryError saying what happened (the caller reports it and exits non-zero)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.sender, to, subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="enrollment-dashboard")
    message.set_content(text)
    for name, content, mime in attachments:
        main, _, sub = mime.partition("/")
        message.add_attachment(content, maintype=main, subtype=sub, filename=name)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user is not None:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {settings.host}:{settings.port}: {exc}") from None
