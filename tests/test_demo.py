"""The demo generator: deterministic, valid, and true to the autumn-2013 scenario (scenario.md)."""

import filecmp
import json
from datetime import date, datetime, timedelta

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from dashboard import cli, config, demo
from dashboard import metrics as m
from dashboard.engine import Engine

END = datetime(2014, 1, 31, 23, 59, 59)


def files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_and_size_give_identical_files_and_other_seeds_differ(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    demo.generate(a, 3000, seed=7, progress=False)
    demo.generate(b, 3000, seed=7, progress=False)
    demo.generate(c, 3000, seed=8, progress=False)
    assert files(a) == files(b) == files(c)
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(p) for p in files(a)], shallow=False)
    assert not mismatch and not errors
    assert (a / "enrollments" / "part-00000.parquet").read_bytes() != (
        c / "enrollments" / "part-00000.parquet"
    ).read_bytes()


def test_chunks_do_not_change_with_the_total_size(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "CHUNK_SIZE", 1000)
    demo.generate(tmp_path / "small", 1500, seed=3, progress=False)
    demo.generate(tmp_path / "big", 2000, seed=3, progress=False)
    first = "enrollments/part-00000.parquet"
    assert (tmp_path / "small" / first).read_bytes() == (tmp_path / "big" / first).read_bytes()
    assert len(list((tmp_path / "small" / "enrollments").glob("part-0*.parquet"))) == 2


def test_refuses_to_overwrite_an_export_without_force(tmp_path):
    demo.generate(tmp_path / "x", 500, progress=False)
    with pytest.raises(demo.GenerateError, match="--force"):
        demo.generate(tmp_path / "x", 500, progress=False)
    demo.generate(tmp_path / "x", 400, progress=False, force=True)
    assert Engine(tmp_path / "x").table_summary()[0]["rows"] == 400 + demo.canary_count()


# ------------------------------------------------------------ the scenario's facts


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenario")
    demo.generate(root, 100_000, progress=False)
    return root, Engine(root)


def q(engine, as_of=END, **filters):
    return m.Request(engine, as_of, m.Filters(**filters))


def test_the_export_passes_validation_with_no_problem(scenario):
    _, engine = scenario
    assert engine.problems == []


def test_error_rate_falls_from_one_in_four_at_the_december_1_release(scenario):
    _, engine = scenario
    fixes = {f["release_id"]: f for f in m.fix_impact(q(engine))}
    fix = fixes["R-2013-12-01-834"]
    assert 0.20 <= fix["before"]["rate"] <= 0.30
    assert fix["after"]["rate"] <= 0.13 and fix["verdict"] == "improved"
    daily = {d["date"]: d for d in m.errors_daily(q(engine))}
    week = [daily[date(2013, 12, 6) + timedelta(days=i)] for i in range(7)]
    assert sum(d["errored"] for d in week) / sum(d["sent"] for d in week) == pytest.approx(0.10, abs=0.03)
    assert fixes["R-2014-01-10-834"]["verdict"] == "improved"


def test_one_release_changed_nothing(scenario):
    _, engine = scenario
    fixes = {f["release_id"]: f for f in m.fix_impact(q(engine))}
    assert fixes["R-2013-11-15-hub"]["verdict"] == "no clear change"
    assert fixes["R-2013-11-15-hub"]["before"]["sent"] >= 30


def test_trend_adjusted_verdicts_find_the_fixes_on_their_own_metrics_and_not_the_hub(scenario):
    """signals.md on the demo: each release judged on what it fixed, by the interrupted time series."""
    _, engine = scenario
    its = {f["release_id"]: f["its"] for f in m.fix_impact(q(engine))}
    dec1 = its["R-2013-12-01-834"]
    assert (dec1["metric"], dec1["method"], dec1["verdict"]) == ("error_834", "its", "improved")
    assert dec1["ci_high"] < 1 and dec1["rate_before"] > 0.2 and dec1["rate_after"] < 0.15
    nc = its["R-2013-12-10-nc-payment-link"]
    assert (nc["metric"], nc["method"], nc["verdict"]) == ("redirect_failure", "its", "improved")
    assert nc["rate_before"] > 0.5  # the broken link: most of its redirects failed
    assert nc["comparison"] is not None and nc["comparison"]["method"] == "its"  # shown beside it
    assert "verdict" not in nc["comparison"]
    hub = its["R-2013-11-15-hub"]
    assert (hub["metric"], hub["verdict"]) == ("error_834", "no clear change")
    assert its["R-2013-10-01-launch"]["verdict"] == "too little data"  # nothing before launch


def test_current_rate_shows_the_fix_that_the_since_launch_rate_hides(scenario):
    _, engine = scenario
    request = q(engine, datetime(2013, 12, 9))
    since_launch, last_week = m.errors(request)["rate"], m.errors_recent(request)["rate"]
    assert since_launch > 0.17  # still weighed down by two months at one in four
    assert last_week < 0.15 and last_week < since_launch - 0.04  # Dec 2-9, the week after the fix


def test_the_control_chart_opens_a_phase_at_the_fix_and_its_centre_drops(scenario):
    _, engine = scenario
    chart = m.control_chart(q(engine, datetime(2013, 12, 20)), "error_834")
    centre = {day["phase"]: day["centre"] for day in chart if day["mature"] and day["n"]}
    assert centre["R-2013-12-01-834"] < 0.6 * centre["R-2013-11-15-hub"]
    assert not chart[-1]["mature"] and chart[-1]["signal"] is None  # the last 48 hours are not judged


def test_january_1_coverage_at_risk_on_december_2(scenario):
    _, engine = scenario
    rows = m.coverage_deadlines(q(engine, datetime(2013, 12, 2)))
    jan = m.nearest_coverage_deadline(rows)
    assert (str(jan["coverage_start"]), str(jan["due_date"]), jan["days_left"]) == ("2014-01-01", "2013-12-31", 29)
    assert jan["unpaid"] > 0.4 * jan["selected"] and jan["projected_unpaid"] <= jan["unpaid"]


def test_issuers_compared_by_volume_flag_the_broken_nc_payment_issuer(scenario):
    _, engine = scenario
    comparison = m.issuer_comparison(q(engine, datetime(2013, 12, 9)))
    flags = {i["issuer_id"]: i["flag"] for i in comparison["effectuation"]["issuers"]}
    nc = next(r["issuer_id"] for r in m.releases(q(engine)) if r["release_id"] == "R-2013-12-10-nc-payment-link")
    assert flags[nc] == "low_99.8"  # none of its October cohort could pay
    assert comparison["error_834"]["phi"] >= 1


def test_never_sent_about_one_in_ten_in_late_november_and_under_one_percent_by_mid_december(scenario):
    _, engine = scenario
    late_november = m.never_sent(q(engine, datetime(2013, 11, 28)))
    assert 0.07 <= late_november["share"] <= 0.16
    mid_december = m.never_sent(
        q(engine, datetime(2013, 12, 20), date_from=date(2013, 12, 8), date_to=date(2013, 12, 16))
    )
    assert mid_december["share"] < 0.01


def selections_by(engine, day):
    return m.funnel(q(engine, datetime(day.year, day.month, day.day))).total[1]["count"]


def test_the_december_surge_and_the_deadline_peak(scenario):
    _, engine = scenario
    total = selections_by(engine, date(2014, 2, 1))
    # cumulative shape of the federal marketplace's plan selections: ~7% by Nov 30, ~58% by Dec 28
    assert 0.04 <= selections_by(engine, date(2013, 12, 1)) / total <= 0.12
    assert 0.45 <= selections_by(engine, date(2013, 12, 29)) / total <= 0.70
    per_day = {
        d: selections_by(engine, d + timedelta(days=1)) - selections_by(engine, d)
        for d in (date(2013, 11, 20), date(2013, 12, 10), date(2013, 12, 20), date(2013, 12, 23), date(2014, 1, 20))
    }
    assert max(per_day, key=per_day.get) == date(2013, 12, 23)
    assert per_day[date(2013, 12, 23)] > 10 * per_day[date(2013, 11, 20)]


def test_north_carolina_payment_link_broken_until_its_fix(scenario):
    root, engine = scenario
    releases = {f["release_id"]: f for f in m.fix_impact(q(engine))}
    fix = releases["R-2013-12-10-nc-payment-link"]
    nc_issuer, fixed_at = fix["issuer_id"], fix["deployed_at"]
    assert nc_issuer in {k for k, v in m.funnel(q(engine, states=("NC",))).by_issuer.items()}

    def payment_page_rate(funnel):
        return funnel[4]["count"] / funnel[3]["count"]  # reached_payment / accepted_834

    before = m.funnel(q(engine, fixed_at, issuers=(nc_issuer,))).total
    others = m.funnel(q(engine, fixed_at, states=("NC",))).by_issuer
    assert payment_page_rate(before) < 0.45
    assert all(payment_page_rate(f) > 0.85 for k, f in others.items() if k != nc_issuer and f[3]["count"] > 50)
    after = m.funnel(q(engine, issuers=(nc_issuer,), date_from=fixed_at.date() + timedelta(days=1))).total
    assert payment_page_rate(after) > 0.85
    # the October-to-fix cohort: almost nobody paid before the fix (100%-subsidy enrollments owe nothing)
    cohort = dict(issuers=(nc_issuer,), date_to=fixed_at.date())
    paid_at_fix = m.funnel(q(engine, fixed_at, **cohort)).total[5]["count"]
    paid_at_end = m.funnel(q(engine, **cohort)).total[5]["count"]
    assert paid_at_end > 2 * paid_at_fix


def test_effectuation_rates_differ_by_state(scenario):
    _, engine = scenario
    rates = {s: f[6]["count"] / f[1]["count"] for s, f in m.funnel(q(engine)).by_state.items() if f[1]["count"] >= 800}
    assert len(rates) >= 15
    assert max(rates.values()) - min(rates.values()) > 0.2
    total = m.funnel(q(engine)).total
    assert 0.65 <= total[5]["count"] / total[1]["count"] <= 0.85  # 70-85% of selections pay, give or take
    assert len(m.funnel(q(engine)).by_state) == 36


def test_age_mix(scenario):
    _, engine = scenario
    bands = {b["band"]: b["share"] for b in m.age_bands(q(engine))}
    assert bands["18-34"] == pytest.approx(0.24, abs=0.03)
    assert bands["55-64"] == pytest.approx(0.33, abs=0.04)


def test_full_subsidies_and_subsidies_above_the_premium(scenario):
    root, _ = scenario
    table = ds.dataset(root / "enrollments").to_table(columns=["total_premium", "aptc_amount", "is_test"])
    premium, aptc = table["total_premium"], table["aptc_amount"]
    selected = pc.sum(pc.is_valid(premium)).as_py()
    full = pc.sum(pc.equal(premium, aptc)).as_py()
    above = pc.sum(pc.greater(aptc, premium)).as_py()
    assert 0.03 <= full / selected <= 0.08 and above > 0


def test_canaries_got_stuck_before_the_fixes_and_come_through_after(scenario):
    _, engine = scenario
    before = m.canaries(q(engine, datetime(2013, 11, 30)))
    assert len(before) >= 60
    assert sum(c["stuck"] for c in before) / len(before) > 0.3
    early = {c["enrollment_id"] for c in m.canaries(q(engine, datetime(2013, 12, 5)))}
    after = [c for c in m.canaries(q(engine)) if c["enrollment_id"] not in early]
    assert len(after) >= 40 and sum(c["stuck"] for c in after) / len(after) < 0.2


def test_every_section_has_something_to_show(scenario):
    _, engine = scenario
    errors = m.errors(q(engine))
    assert all(errors[c] > 0 for c in m.ERROR_CATEGORIES)
    recon = m.reconciliation(q(engine))
    assert all(sum(r[k] for r in recon) > 0 for k in ("matched", "field_mismatch", "exchange_only", "issuer_only"))
    assert m.payment_deadline_risk(q(engine, datetime(2013, 12, 27)))["at_risk"] > 0  # due Dec 31
    assert m.payment_deadline_risk(q(engine, datetime(2014, 1, 5)))["past_due"] > 0
    assert m.funnel(q(engine)).cancelled > 0


# ------------------------------------------------------------- embedded default


@pytest.fixture
def fresh_default(tmp_path, monkeypatch):
    default = tmp_path / "data"
    default.mkdir()
    (default / "README.md").write_text("the default export directory")
    monkeypatch.setattr(config, "DEFAULT_DATA_DIR", default)
    monkeypatch.delenv("DASHBOARD_DATA_DIR", raising=False)
    monkeypatch.setattr(demo, "DEMO_ENROLLMENTS", 2000)
    return default


def test_report_fills_an_empty_default_directory_and_says_so(fresh_default, capsys):
    assert cli.main(["report"]) == 0
    out, err = capsys.readouterr()
    assert "generating the demo export" in err and "demo data" in err
    assert json.loads(out)["funnel"][0]["count"] == 2000
    assert (fresh_default / "releases.csv").exists()
    assert cli.main(["report"]) == 0  # the second time it is just read
    assert "generating" not in capsys.readouterr().err


def test_a_named_empty_directory_is_never_filled(fresh_default, tmp_path, capsys, monkeypatch):
    named = tmp_path / "named"
    named.mkdir()
    assert cli.main(["report", "--data", str(named)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert list(named.iterdir()) == []
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(named))
    assert cli.main(["report"]) == 2
    assert list(named.iterdir()) == []
    assert cli.main(["report", "--data", str(tmp_path / "missing")]) == 2
    assert not (tmp_path / "missing").exists()


def test_a_partial_default_directory_is_not_overwritten(fresh_default, capsys):
    (fresh_default / "issuers.csv").write_text("issuer_id,issuer_name,state\n")
    assert cli.main(["report"]) == 2
    assert "generating" not in capsys.readouterr().err
