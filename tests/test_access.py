"""Who sees what: roles file, identity, default deny and demo mode (dashboard/access.py)."""

import pytest

from dashboard import access as a

ROLES = """
[[users]]
email = "Lead@CMS.example"
role = "leadership"

[[users]]
email = "am@issuer.example"
role = "account_manager"
issuers = ["10001"]

[[groups]]
name = "nc-team"
role = "account_manager"
issuers = ["20002", "10001"]

[[groups]]
name = "tv"
role = "standup"
"""


@pytest.fixture
def roles(tmp_path):
    path = tmp_path / "roles.toml"
    path.write_text(ROLES)
    return a.load_roles(path)


def test_users_by_email_case_insensitively(roles):
    lead = a.resolve({"email": "lead@cms.example"}, roles, auth_configured=True)
    assert lead.role == "leadership" and lead.scope.issuers is None and lead.may_see_records
    am = a.resolve({"email": "AM@issuer.example"}, roles, auth_configured=True)
    assert am.role == "account_manager" and am.scope.issuers == ("10001",)


def test_groups_merge_and_the_standup_role(roles):
    am = a.resolve({"email": "x@y.example", "groups": ["nc-team", "tv"]}, roles, auth_configured=True)
    assert am.role == "account_manager" and am.scope.issuers == ("10001", "20002")
    tv = a.resolve({"groups": "tv"}, roles, auth_configured=True)
    assert tv.role == "standup" and not tv.may_see_records
    assert tv.may_see_page("standup") and not tv.may_see_page("funnel")


def test_default_deny(roles):
    nobody = a.resolve({"email": "stranger@example.org"}, roles, auth_configured=True)
    assert not nobody.allowed and "no entry" in nobody.reason and nobody.scope.issuers == ()
    assert not a.resolve({"email": "lead@cms.example"}, None, auth_configured=True).allowed
    assert not a.resolve(None, roles, auth_configured=True).allowed  # not signed in


def test_demo_mode_only_without_authentication_and_can_be_turned_off(roles):
    demo = a.resolve(None, roles, auth_configured=False, demo_allowed=True)
    assert demo.allowed and demo.demo_mode and demo.role == "leadership"
    off = a.resolve(None, roles, auth_configured=False, demo_allowed=False)
    assert not off.allowed


def test_an_account_manager_scope_cannot_be_widened_by_filters():
    from dashboard import metrics as m

    scope = m.Scope(issuers=("10001",))
    assert scope.narrow(m.Filters(issuers=("20002",))).issuers == ()
    assert scope.narrow(m.Filters(issuers=("10001", "20002"))).issuers == ("10001",)
    assert scope.narrow(m.Filters()).issuers == ("10001",)


@pytest.mark.parametrize(
    "text,needle",
    [
        ('[[users]]\nemail = "a@b"\nrole = "admin"\n', "role must be one of"),
        ('[[users]]\nemail = "a@b"\nrole = "account_manager"\n', "at least one issuer"),
        ('[[users]]\nemail = "a@b"\nrole = "leadership"\nissuers = ["1"]\n', "only an account_manager"),
        ('[[users]]\nrole = "leadership"\n', "no email"),
        ("[[users]\n", "cannot be read as TOML"),
        ('[[users]]\nemail = "a@b"\nrole = "account_manager"\nissuers = [10001]\n', "as strings"),
    ],
)
def test_a_malformed_roles_file_is_an_error_not_an_open_door(tmp_path, text, needle):
    path = tmp_path / "roles.toml"
    path.write_text(text)
    with pytest.raises(a.RolesError, match=needle):
        a.load_roles(path)


def test_the_committed_example_is_valid():
    roles = a.load_roles(a.REPO_ROOT / ".streamlit" / "roles.example.toml")
    assert roles is not None and roles.users
