"""Scope in the dashboard and the report: an account manager sees their issuer and nothing of another's."""

from __future__ import annotations

import json
import os
import re
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import markdown_as_read, rendered_text, run_report
from streamlit.testing.v1 import AppTest

from dashboard import demo
from dashboard import metrics as m
from dashboard.engine import Engine
from dashboard.pages import PAGE_NAMES
from dashboard.problems import ERROR, WARNING, Problem, as_seen_by


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


def run(world, app_page, email: str | None, page: str = "overview", **params) -> AppTest:
    export, roles, _, _ = world
    return app_page(
        page, data_dir=export, roles=roles, user={"email": email, "is_logged_in": True} if email else {}, **params
    )


def leaked(text: str, others) -> list[str]:
    found = []
    for r in others:
        if re.search(rf"(?<![0-9]){re.escape(r['issuer_id'])}(?![0-9])", text):
            found.append(r["issuer_id"])
        if r["issuer_name"] and r["issuer_name"] in text:
            found.append(r["issuer_name"])
    return found


@pytest.mark.parametrize("page", PAGE_NAMES)
def test_account_manager_sees_nothing_of_another_issuer(world, app_page, page):
    _, _, mine, others = world
    at = run(world, app_page, "am@issuer.example", page)
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
def test_url_parameters_cannot_widen_the_scope(world, app_page, params, page):
    _, _, _, others = world
    other = next(o for o in others if o["state"] != "NC")
    text = rendered_text(run(world, app_page, "am@issuer.example", page, **params(other)))
    assert not leaked(text, others)


def test_an_issuer_outside_the_scope_is_named_without_being_echoed(world, app_page):
    _, _, mine, others = world
    other = others[0]
    at = run(world, app_page, "am@issuer.example", "overview", issuer=[other["issuer_id"]])
    warning = " ".join(w.value for w in at.main.warning)
    assert "The issuer filter holds a value that matches no issuer id you may see" in warning
    assert "every number is zero" in warning
    assert not leaked(rendered_text(at), others)
    focus = run(world, app_page, "am@issuer.example", "issuer", focus=other["issuer_id"])
    assert "The address asks for an issuer (focus) which matches no issuer" in " ".join(
        w.value for w in focus.main.warning
    )
    assert not leaked(rendered_text(focus), others)


def test_a_problem_about_the_whole_export_reaches_an_account_manager_without_its_text():
    """Literal problems: one about the reader's issuer, one about another, one about the whole export that
    quotes another issuer's enrollment id (as the duplicate-id check does)."""
    mine = Problem(WARNING, "issuers", "issuer '111' appears in payments but not in issuers.csv", issuer_id="111")
    theirs = Problem(WARNING, "issuers", "issuer '222' appears in payments but not in issuers.csv", issuer_id="222")
    whole = Problem(
        ERROR,
        "enrollments",
        "1 value(s) appear more than once (2 rows), e.g. 'E-222-9'",
        file="export/enrollments/a.parquet",
        column="enrollment_id",
        rows=2,
    )
    seen = as_seen_by([mine, theirs, whole], ("111",))
    assert seen[0] == mine and len(seen) == 2  # another issuer's problem is left out
    assert (seen[1].severity, seen[1].table, seen[1].file, seen[1].column) == (
        ERROR,
        "enrollments",
        "export/enrollments/a.parquet",
        "enrollment_id",
    )
    assert "E-222-9" not in str(seen[1]) and seen[1].rows is None and "details not shown" in seen[1].message
    assert as_seen_by([mine, theirs, whole], None) == [mine, theirs, whole]  # a leader reads them whole


def test_the_health_page_does_not_quote_another_issuers_record_to_an_account_manager(world, app_page, tmp_path):
    export, roles, mine, _ = world
    broken = tmp_path / "export"
    shutil.copytree(export, broken)
    first = sorted((broken / "enrollments").glob("*.parquet"))[0]
    rows = pq.read_table(first)
    other = next(  # an id unlike any other string of the page (not '0000000000')
        r
        for r in rows.to_pylist()
        if r["issuer_id"] != mine["issuer_id"] and len(set(r["enrollment_id"])) >= 5 and not r.get("is_test")
    )
    pq.write_table(pa.Table.from_pylist([other], schema=rows.schema), broken / "enrollments" / "zz-again.parquet")

    def health(email):
        user = {"email": email, "is_logged_in": True}
        return rendered_text(app_page("health", data_dir=broken, roles=roles, user=user))

    assert other["enrollment_id"] in health("lead@cms.example")  # the duplicate is named, with its id
    text = health("am@issuer.example")
    assert other["enrollment_id"] not in text and "zz-again.parquet" not in text  # the message quotes both
    assert "details not shown" in text and "enrollment_id" in text  # the problem is still said, by its column


def test_unknown_user_sees_only_a_message(world, app_page):
    _, _, mine, others = world
    at = run(world, app_page, "stranger@example.org")
    assert any("no access" in e.value for e in at.error)
    text = rendered_text(at)
    assert not leaked(text, others + [mine]) and not at.metric


def test_standup_role_gets_the_standup_screen_only(world, app_page):
    at = run(world, app_page, "tv@ops.example", "funnel")
    assert not any("Who dropped out" in h.value for h in at.subheader)
    assert not at.get("download_button")
    at = run(world, app_page, "tv@ops.example", "standup")
    assert "data as of" in rendered_text(at)


def test_leadership_sees_every_issuer(world, app_page):
    _, _, _, others = world
    text = rendered_text(run(world, app_page, "lead@cms.example", "errors"))
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


def test_a_problem_outside_the_marketplace_names_its_file_from_the_export_folder():
    """docs/security.md: a reader of some issuers is not told where the server keeps the export."""
    inside = Problem(ERROR, "payments", "cannot be read", file="/srv/exports/today/payments/a.parquet")
    stored = Problem(ERROR, "payments", "cannot be read", file="today/payments/a.parquet")  # as prepared
    folder = Problem(ERROR, "export", "the export cannot be opened: gone", file="/srv/exports/today")
    elsewhere = Problem(ERROR, "export", "cannot be read", file="/mnt/other/x.parquet")
    hidden = [p.located("/srv/exports/today", server_path=False).file for p in (inside, stored, folder, elsewhere)]
    assert hidden == ["today/payments/a.parquet", "today/payments/a.parquet", "today", "x.parquet"]
    # the marketplace's own readers get the path as the dashboard was given it
    shown = [p.located("/srv/exports/today").file for p in (inside, stored, folder)]
    assert shown == [
        "/srv/exports/today/payments/a.parquet",
        "/srv/exports/today/payments/a.parquet",
        "/srv/exports/today",
    ]


def test_an_account_manager_is_told_whose_issuers_a_page_covers_and_not_where_the_export_is(world, app_page):
    export, _, mine, _ = world
    name = f"{mine['issuer_name']} ({mine['issuer_id']})"
    for page in ("overview", "health"):
        manager = rendered_text(run(world, app_page, "am@issuer.example", page)).replace("\\", "")
        leader = rendered_text(run(world, app_page, "lead@cms.example", page)).replace("\\", "")
        assert str(export) not in manager, page
        assert (str(export) in leader) == (page == "health")  # Health names it for the marketplace's readers
    overview = rendered_text(run(world, app_page, "am@issuer.example")).replace("\\", "")
    # no issuer chosen: the header says it is their issuers, never 'all' (which would read as every issuer)
    assert f"issuers: {name} (your access)" in overview and "issuers: all" not in overview
    assert "issuers: all" in rendered_text(run(world, app_page, "lead@cms.example"))
    issuers = run(world, app_page, "am@issuer.example").sidebar.multiselect[-1]
    assert issuers.label == "Issuers" and issuers.placeholder == "All your issuers"


def test_the_download_filters_sheet_says_whose_issuers_and_not_where_the_export_is(world):
    from dashboard import serving, ui

    export, _, mine, _ = world
    engine = Engine(export)
    loaded = serving.LoadedExport(str(export), engine.fingerprint, engine, (), m.utc_now())
    as_of = m.latest_event(engine, m.utc_now())
    manager = dict(ui.filter_rows(serving.View(loaded, as_of, as_of, m.Filters(), m.Scope((mine["issuer_id"],)))))
    assert manager["Issuers"] == f"{mine['issuer_name']} ({mine['issuer_id']}) (your access)"
    assert manager["Export"] == f"fingerprint {engine.fingerprint}"
    leader = dict(ui.filter_rows(serving.View(loaded, as_of, as_of, m.Filters(), m.Scope())))
    assert leader["Issuers"] == "all" and leader["Export"] == f"{export} (fingerprint {engine.fingerprint})"


def test_a_page_blocked_by_a_whole_export_problem_does_not_quote_it_to_an_account_manager(world, app_page, tmp_path):
    """The block on Overview (ui.guard) says what the Health page says, no more: a duplicate enrollment id
    makes the enrollments table unusable, and its message quotes another issuer's id."""
    export, roles, mine, _ = world
    broken = tmp_path / "export"
    shutil.copytree(export, broken)
    first = sorted((broken / "enrollments").glob("*.parquet"))[0]
    rows = pq.read_table(first)
    other = next(
        r
        for r in rows.to_pylist()
        if r["issuer_id"] != mine["issuer_id"] and len(set(r["enrollment_id"])) >= 5 and not r.get("is_test")
    )
    pq.write_table(pa.Table.from_pylist([other], schema=rows.schema), broken / "enrollments" / "zz-again.parquet")

    def overview(email):
        at = app_page("overview", data_dir=broken, roles=roles, user={"email": email, "is_logged_in": True})
        return " ".join(markdown_as_read(e.value) for e in at.main.error)

    assert other["enrollment_id"] in overview("lead@cms.example")  # the leader is told which id
    blocked = overview("am@issuer.example")
    assert "This page needs data the export does not provide correctly" in blocked  # still blocked, and why
    assert "enrollment_id" in blocked and "details not shown" in blocked
    assert other["enrollment_id"] not in blocked and str(broken) not in blocked
