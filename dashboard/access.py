"""Who sees what: a roles file maps an identity (e-mail or group) to a role and its issuers.

Identity comes from Streamlit itself: `st.user` after an OIDC login (`st.login`), or the values a
trusted reverse proxy puts in a header (`server.trustedUserHeaders`). This module only decides;
the scope it returns is applied by the data layer to every query (`dashboard.metrics.Scope`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import REPO_ROOT
from .metrics import Scope

LEADERSHIP, ACCOUNT_MANAGER, STANDUP = "leadership", "account_manager", "standup"
ROLES = (LEADERSHIP, ACCOUNT_MANAGER, STANDUP)
STANDUP_PAGES = frozenset({"standup"})


class RolesError(Exception):
    """The roles file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Grant:
    role: str
    issuers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roles:
    users: dict[str, Grant] = field(default_factory=dict)  # lower-case e-mail -> grant
    groups: dict[str, Grant] = field(default_factory=dict)  # group name -> grant


@dataclass(frozen=True)
class Access:
    role: str | None  # None: sees nothing
    scope: Scope
    identity: str | None
    demo_mode: bool = False
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.role is not None

    @property
    def may_see_records(self) -> bool:
        """Record lists and downloads: not for the stand-up screen's aggregates-only role."""
        return self.role in (LEADERSHIP, ACCOUNT_MANAGER)

    def may_see_page(self, page: str) -> bool:
        if not self.allowed:
            return False
        return page in STANDUP_PAGES if self.role == STANDUP else True


def roles_path() -> Path:
    return Path(os.environ.get("DASHBOARD_ROLES_FILE", REPO_ROOT / ".streamlit" / "roles.toml"))


def demo_mode_allowed() -> bool:
    """With no authentication configured, run as an open demo unless production turns that off."""
    return os.environ.get("DASHBOARD_DEMO_MODE", "1").strip().lower() not in ("0", "false", "no", "off")


def _grant(entry: dict[str, Any], where: str) -> Grant:
    role = entry.get("role")
    if role not in ROLES:
        raise RolesError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
    issuers = entry.get("issuers", [])
    if not isinstance(issuers, list) or not all(isinstance(i, str) and i for i in issuers):
        raise RolesError(f'{where}: issuers must be a list of issuer ids as strings, e.g. ["10001"]')
    if role == ACCOUNT_MANAGER and not issuers:
        raise RolesError(f"{where}: an account_manager needs at least one issuer id")
    if role != ACCOUNT_MANAGER and issuers:
        raise RolesError(f"{where}: only an account_manager has issuers")
    return Grant(role, tuple(issuers))


def load_roles(path: Path | None = None) -> Roles | None:
    """The roles file, or None when there is none. A malformed file is an error, never 'allow all'."""
    path = path or roles_path()
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RolesError(f"{path}: cannot be read as TOML ({exc})") from None
    users: dict[str, Grant] = {}
    for i, entry in enumerate(data.get("users", [])):
        email = str(entry.get("email", "")).strip().lower()
        if not email:
            raise RolesError(f"{path}: users entry {i + 1} has no email")
        users[email] = _grant(entry, f"{path}: user {email}")
    groups: dict[str, Grant] = {}
    for i, entry in enumerate(data.get("groups", [])):
        name = str(entry.get("name", "")).strip()
        if not name:
            raise RolesError(f"{path}: groups entry {i + 1} has no name")
        groups[name] = _grant(entry, f"{path}: group {name}")
    return Roles(users, groups)


def _groups_of(identity: dict[str, Any]) -> list[str]:
    value = identity.get("groups") or identity.get("group") or []
    if isinstance(value, str):
        value = [g.strip() for g in value.split(",")]
    return [str(g) for g in value if str(g).strip()]


def resolve(
    identity: dict[str, Any] | None, roles: Roles | None, *, auth_configured: bool, demo_allowed: bool | None = None
) -> Access:
    """Decide what the caller may see. Anything not granted explicitly is denied."""
    demo_allowed = demo_mode_allowed() if demo_allowed is None else demo_allowed
    email = str((identity or {}).get("email") or "").strip().lower() or None
    groups = _groups_of(identity or {})
    if email is None and not groups:
        if auth_configured:
            return Access(None, Scope(issuers=()), None, reason="not signed in")
        if demo_allowed:
            return Access(
                LEADERSHIP, Scope(), None, demo_mode=True, reason="no authentication is configured: open demo mode"
            )
        return Access(None, Scope(issuers=()), None, reason="demo mode is off and no authentication is configured")
    who = email or ", ".join(groups)
    if roles is None:
        return Access(None, Scope(issuers=()), who, reason="no roles file: nobody is granted access")
    grant = roles.users.get(email) if email else None
    if grant is None:
        matched = [roles.groups[g] for g in groups if g in roles.groups]
        if any(g.role == LEADERSHIP for g in matched):
            grant = Grant(LEADERSHIP)
        elif any(g.role == ACCOUNT_MANAGER for g in matched):
            grant = Grant(ACCOUNT_MANAGER, tuple(sorted({i for g in matched for i in g.issuers})))
        elif matched:
            grant = Grant(STANDUP)
    if grant is None:
        return Access(None, Scope(issuers=()), who, reason=f"{who} has no entry in the roles file")
    scope = Scope(issuers=grant.issuers) if grant.role == ACCOUNT_MANAGER else Scope()
    return Access(grant.role, scope, who, reason=f"signed in as {who}")


class RecipientError(ValueError):
    """A recipient cannot be used (unknown address, a role nobody has, the stand-up role); the message says why."""


def recipient_scopes(entries: list[str], roles: Roles | None) -> list[tuple[str, Scope]]:
    """[(address, scope)] for recipients named as e-mail addresses or `role:<role>` (every user of the roles
    file with that role), each address once, in order. Every address must have an entry in the roles file
    with a role that may read records, since what is sent to it is computed within its scope."""
    if roles is None:
        raise RecipientError(f"the roles file {roles_path()} is needed, to know what each recipient may see")
    addresses: list[str] = []
    for entry in entries:
        text = str(entry).strip()
        if text.startswith("role:"):
            role = text.removeprefix("role:").strip()
            if role not in (LEADERSHIP, ACCOUNT_MANAGER):
                raise RecipientError(f"{entry}: give role:{LEADERSHIP} or role:{ACCOUNT_MANAGER}")
            users = sorted(email for email, grant in roles.users.items() if grant.role == role)
            if not users:
                raise RecipientError(f"{entry}: no user of the roles file {roles_path()} has that role")
            addresses.extend(users)
        elif "@" in text and " " not in text and text.isprintable():
            addresses.append(text.lower())
        else:
            raise RecipientError(f"{entry!r} is neither an e-mail address nor role:<role>")
    plan = []
    for email in dict.fromkeys(addresses):
        granted = resolve({"email": email}, roles, auth_configured=True)
        if not granted.allowed:
            raise RecipientError(f"{email}: {granted.reason} ({roles_path()}), so what it may see is unknown")
        if not granted.may_see_records:
            raise RecipientError(f"{email}: the {granted.role} role sees the stand-up screen only")
        plan.append((email, granted.scope))
    return plan
