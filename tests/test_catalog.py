"""The query catalogue: every .sql file has its header, declares what it binds, and compiles."""

from datetime import datetime

import pytest
from exportkit import enrollment, write_export
from helpers import SAMPLE_PARAMS

from dashboard.engine import Engine
from dashboard.engine.catalog import QUERIES_DIR, CatalogError, load_catalog, parse_query
from dashboard.engine.staging import sql_string

ALL_SQL = sorted(QUERIES_DIR.rglob("*.sql"))


@pytest.mark.parametrize("path", ALL_SQL, ids=lambda p: str(p.relative_to(QUERIES_DIR)))
def test_every_sql_file_has_its_header(path):
    query = parse_query(path)
    lines = path.read_text().splitlines()
    assert lines[0] == f"-- name: {query.name}"
    assert query.description and any(line.startswith("-- params:") for line in lines[:12])


def test_every_metric_query_compiles_and_runs_on_an_empty_and_a_small_export(tmp_path):
    prepare, queries = load_catalog()
    assert len(prepare) >= 10 and len(queries) >= 14
    for root in (write_export(tmp_path / "empty"), write_export(tmp_path / "one", enrollments=[enrollment("E1")])):
        engine = Engine(root)
        for name, query in queries.items():
            engine.rows(name, **{p: SAMPLE_PARAMS[p] for p in query.params})


def test_loader_refuses_undeclared_or_unused_parameters(tmp_path):
    bad = tmp_path / "bad_query.sql"
    bad.write_text("-- name: bad_query\n-- One row.\n-- params: $as_of timestamp\nSELECT $as_of, $oops\n")
    with pytest.raises(CatalogError, match="do not match"):
        parse_query(bad)
    bad.write_text("-- name: other_name\n-- One row.\n-- params: none\nSELECT 1\n")
    with pytest.raises(CatalogError, match="must be named"):
        parse_query(bad)
    bad.write_text("-- name: bad_query\nSELECT 1\n")
    with pytest.raises(CatalogError, match="params"):
        parse_query(bad)


def test_a_parameter_in_a_string_literal_is_not_a_parameter(tmp_path):
    path = tmp_path / "literal.sql"
    path.write_text("-- name: literal\n-- One row.\n-- params: none\nSELECT '$not_a_param' AS text\n")
    assert parse_query(path).params == ()
    # an apostrophe in a comment does not hide the parameters after it; '--' in a literal is no comment
    path.write_text(
        "-- name: literal\n-- One row.\n-- params: $a integer, $b integer\n"
        "SELECT $a -- the issuer's own\n, '--' AS dashes, $b\n"
    )
    assert parse_query(path).params == ("a", "b")


def test_engine_refuses_wrong_parameters(tmp_path):
    engine = Engine(write_export(tmp_path / "x"))
    with pytest.raises(TypeError, match="takes parameters"):
        engine.rows("never_sent", as_of=datetime(2013, 12, 1))


def test_values_are_bound_not_formatted(tmp_path):
    engine = Engine(write_export(tmp_path / "x", enrollments=[enrollment("E1")]))
    hostile = "NC') OR 1=1; DROP TABLE enrollments; --"
    rows = engine.rows(
        "funnel_counts", as_of=datetime(2013, 12, 1), date_from=None, date_to=None, states=[hostile], issuers=None
    )
    assert [r["applied"] for r in rows] == [0]
    assert (
        engine.rows(
            "funnel_counts", as_of=datetime(2013, 12, 1), date_from=None, date_to=None, states=None, issuers=None
        )[0]["applied"]
        == 1
    )


def test_paths_with_quotes_are_escaped_in_view_ddl(tmp_path):
    root = write_export(tmp_path / "it's an export", enrollments=[enrollment("E1")])
    assert not Engine(root).errors
    assert sql_string("a'b") == "'a''b'"
