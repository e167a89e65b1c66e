"""Scope in the dashboard and the report: an account manager sees their issuer and nothing of another's."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import REPO, run_report
from streamlit.testing.v1 import AppTest

from dashboard import demo
from dashboard import metrics as m
from dashboard.engine import Engine

APP = str(REPO / "dashboard" / "app.py")
PAGES = ["overview", "funnel", "errors", "backlog", "issuer", "standup", "health"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("scope")
    export = root / "export"
    demo.generate(export, 3000, progress=False)
    directory = m.issuer_directory(Engine(export))
    nc = demo.nc_payment_link_issuer(demo.build_issuers(demo.DEFAULT_SEED))
    mine = next(r for r in directory if r["issuer_id"] == nc.issuer_id)  # it has an issuer-specific release
    others = [r for r in directory if r["issuer_id"] != mine["issuer_id"]]
    roles = root / "roles.toml"
    roles.write_text(f'''
[[users]]
email = "lead@cms.example"
role = "leadership"

[[users]]
email = "am@issuer.example"
role = "account_manager"
issuers = ["{mine["issuer_id"]}"]

[[users]]
email = "tv@ops.example"
role = "standup"
''')
    return export, roles, mine, others


def rendered_text(at: AppTest) -> str:
    """Everything the run sends to the browser, element by element (charts' JSON, tables' bytes, labels)."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def run(world, monkeypatch, email: str | None, page: str = "overview", **params) -> AppTest:
    export, roles, _, _ = world
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(export))
    monkeypatch.setenv("DASHBOARD_ROLES_FILE", str(roles))
    at = AppTest.from_file(APP, default_timeout=120)
    at.user = {"email": email, "is_logged_in": True} if email else {}
    for key, value in params.items():
        at.query_params[key] = value
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def leaked(text: str, others) -> list[str]:
    found = []
    for r in others:
        if re.search(rf"(?<![0-9]){re.escape(r['issuer_id'])}(?![0-9])", text):
            found.append(r["issuer_id"])
        if r["issuer_name"] and r["issuer_name"] in text:
            found.append(r["issuer_name"])
    return found


@pytest.mark.parametrize("page", PAGES)
def test_account_manager_sees_nothing_of_another_issuer(world, monkeypatch, page):
    _, _, mine, others = world
    at = run(world, monkeypatch, "am@issuer.example", page)
    text = rendered_text(at)
    assert not leaked(text, others)
    assert "Demo mode" not in text
    if page in ("overview", "issuer"):
        assert mine["issuer_id"] in text


@pytest.mark.parametrize(
    "params",
    [
        lambda o: {"issuer": [f"{o['issuer_name']} ({o['issuer_id']})"]},
        lambda o: {"focus": f"{o['issuer_name']} ({o['issuer_id']})"},
        lambda o: {"state": [o["state"]]},
    ],
)
@pytest.mark.parametrize("page", ["overview", "issuer", "funnel"])
def test_url_parameters_cannot_widen_the_scope(world, monkeypatch, params, page):
    _, _, _, others = world
    other = next(o for o in others if o["state"] != "NC")
    text = rendered_text(run(world, monkeypatch, "am@issuer.example", page, **params(other)))
    assert not leaked(text, others)


def test_unknown_user_sees_only_a_message(world, monkeypatch):
    _, _, mine, others = world
    at = run(world, monkeypatch, "stranger@example.org")
    assert any("no access" in e.value for e in at.error)
    text = rendered_text(at)
    assert not leaked(text, others + [mine]) and not at.metric


def test_standup_role_gets_the_standup_screen_only(world, monkeypatch):
    at = run(world, monkeypatch, "tv@ops.example", "funnel")
    assert not any("Who dropped out" in h.value for h in at.subheader)
    assert not at.get("download_button")
    at = run(world, monkeypatch, "tv@ops.example", "standup")
    assert "data as of" in rendered_text(at)


def test_leadership_sees_every_issuer(world, monkeypatch):
    _, _, _, others = world
    text = rendered_text(run(world, monkeypatch, "lead@cms.example", "errors"))
    assert leaked(text, others)


def test_report_as_user_applies_the_scope(world):
    export, roles, mine, others = world
    env = dict(os.environ, DASHBOARD_ROLES_FILE=str(roles))
    done = run_report("--data", str(export), "--as-user", "am@issuer.example", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report["funnel_by_issuer"]) == [mine["issuer_id"]]
    assert not leaked(done.stdout, others)
    # the issuer's own release is there; a filter for another issuer cannot widen the scope
    assert any(f["issuer_id"] == mine["issuer_id"] for f in report["fix_impact"])
    widened = run_report(
        "--data", str(export), "--as-user", "am@issuer.example", "--issuer", others[0]["issuer_id"], env=env
    )
    assert json.loads(widened.stdout)["funnel"][0]["count"] == 0
    for email, needle in (("stranger@example.org", "no access"), ("tv@ops.example", "stand-up screen only")):
        done = run_report("--data", str(export), "--as-user", email, env=env)
        assert done.returncode == 2 and needle in done.stderr
