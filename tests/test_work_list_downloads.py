"""The work lists a person acts on: reconciliation rows with both sides' values, exchange-only rows with
what to chase, and the downloads (plain CSV, xlsx) read back as a spreadsheet user and pandas would."""

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from exportkit import PLAN, accepted, effectuation, enrollment, outbound, ts, write_export
from helpers import query

from dashboard import metrics as m
from dashboard import ui

ISSUER = "00042"  # zero-padded: a spreadsheet that reads it as a number shows 42
NAMES = {ISSUER: "Acme Health (00042)"}


def rows_of(engine, category, as_of="2013-11-05 21:00"):
    return m.reconciliation_work_list(query(engine, as_of), category, 100)


@pytest.fixture
def engine(export):
    return export(
        enrollments=[
            enrollment("0001", issuer_id=ISSUER),  # its effectuation differs in plan and APTC
            enrollment("0002", issuer_id=ISSUER),  # 834 sent and accepted, no effectuation yet
            enrollment("0003", issuer_id=ISSUER),  # no 834 sent at all
            enrollment("0004", issuer_id=ISSUER),  # matched
        ],
        transactions=[
            effectuation(
                "F1", "0001", "2013-11-03 09:00", issuer_id=ISSUER, plan_id="P2", aptc_amount=Decimal("249.99")
            ),
            accepted("X2", "0002", "2013-11-02 09:00", "2013-11-02 10:00", issuer_id=ISSUER),
            effectuation("F4", "0004", "2013-11-03 09:00", issuer_id=ISSUER),
        ],
        issuers=[[ISSUER, "Acme Health", "NC"]],
    )


def test_field_mismatch_row_shows_both_values_per_field(engine):
    [row] = rows_of(engine, "field_mismatch")
    assert row["record_id"] == "0001" and row["differing_fields"] == "plan_id, aptc_amount"
    assert (row["exchange_plan_id"], row["issuer_plan_id"]) == (PLAN, "P2")
    assert (row["exchange_aptc_amount"], row["issuer_aptc_amount"]) == (250.0, 249.99)
    assert row["exchange_coverage_start"] == row["issuer_coverage_start"] == date(2014, 1, 1)
    assert ui.differences_text(row) == f"Plan: {PLAN} → P2; APTC: 250.00 → 249.99"
    table = ui.reconciliation_table([row], "field_mismatch")
    assert table.loc[0, "Differences (exchange → issuer)"] == f"Plan: {PLAN} → P2; APTC: 250.00 → 249.99"
    assert table.loc[0, "Effectuation 834"] == "F1"
    # the download names the fields in words and keeps both sides' columns
    [down] = ui.reconciliation_download(lambda: [row], "field_mismatch")()
    assert down["differing_fields"] == "Plan, APTC"
    assert (down["exchange_aptc_amount"], down["issuer_aptc_amount"]) == (250.0, 249.99)


def test_exchange_only_row_carries_what_to_chase(engine):
    rows = {r["record_id"]: r for r in rows_of(engine, "exchange_only")}
    assert set(rows) == {"0002", "0003"}
    sent = rows["0002"]
    assert sent["exchange_plan_id"] == PLAN and sent["exchange_coverage_start"] == date(2014, 1, 1)
    assert sent["sent_834_at"] == ts("2013-11-02 09:00") and sent["accepted_834_at"] == ts("2013-11-02 10:00")
    assert sent["days_waiting"] == pytest.approx(3.5)  # 2013-11-02 09:00 to 2013-11-05 21:00
    never = rows["0003"]  # nothing sent: waiting since the plan selection, 2013-11-01 10:00
    assert never["sent_834_at"] is None and never["accepted_834_at"] is None
    assert never["days_waiting"] == pytest.approx(4 + 11 / 24)
    table = ui.reconciliation_table([sent], "exchange_only")
    assert list(table.columns) == [
        "Enrollment", "State", "Plan", "Coverage start", "834 sent (UTC)", "834 accepted (UTC)", "Days waiting",
    ]  # fmt: skip
    # once the issuer effectuates, the record is no longer exchange-only
    assert [r["record_id"] for r in rows_of(engine, "exchange_only", as_of="2013-11-02 09:30")] == [
        "0001", "0002", "0003", "0004",
    ]  # fmt: skip


def test_issuer_only_row_carries_the_834s_values(export):
    engine = export(
        enrollments=[enrollment("0001", issuer_id=ISSUER)],
        transactions=[effectuation("F9", "0999", "2013-11-03 09:00", issuer_id=ISSUER, plan_id="P9")],
        issuers=[[ISSUER, "Acme Health", "NC"]],
    )
    [row] = rows_of(engine, "issuer_only")
    assert (row["record_id"], row["issuer_plan_id"], row["exchange_plan_id"]) == ("0999", "P9", None)
    assert row["transaction_id"] == "F9" and row["days_waiting"] is None


def exchange_only_download(engine):
    return ui.download_frame(
        ui.reconciliation_download(lambda: rows_of(engine, "exchange_only"), "exchange_only")(), NAMES
    )


def test_csv_starts_with_its_header_and_keeps_ids(engine):
    text = ui.download_csv(exchange_only_download(engine))
    assert text.splitlines()[0] == (
        "record_id,issuer_id,issuer_name,state,exchange_plan_id,exchange_coverage_start,exchange_aptc_amount,"
        "sent_834_at,accepted_834_at,days_waiting"
    )
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert back["record_id"].tolist() == ["0002", "0003"]
    assert back["issuer_id"].tolist() == [ISSUER, ISSUER] and back["issuer_name"].tolist() == ["Acme Health"] * 2
    assert back["sent_834_at"].tolist() == ["2013-11-02T09:00:00Z", ""]
    assert back["accepted_834_at"].tolist() == ["2013-11-02T10:00:00Z", ""]
    assert back["days_waiting"].tolist() == ["3.5", "4.5"]  # 4.458 days rounded to 0.1


FILTERS = [("As of (UTC)", "2013-11-05T21:00:00Z"), ("States", "NC"), ("Issuers", "Acme Health (00042)")]


def test_xlsx_reads_back_with_ids_as_text_and_a_filters_sheet(engine):
    data = ui.download_xlsx(exchange_only_download(engine), FILTERS)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Work list", "Filters"]
    sheet = book["Work list"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["record_id", "issuer_id", "issuer_name"]
    assert sheet.freeze_panes == "A2"
    row = dict(zip(header, sheet[2], strict=True))
    assert row["record_id"].value == "0002" and row["record_id"].data_type == "s"
    assert row["record_id"].number_format == "@" and row["issuer_id"].number_format == "@"
    assert row["issuer_id"].value == ISSUER and row["issuer_name"].value == "Acme Health"
    assert row["sent_834_at"].value == "2013-11-02T09:00:00Z"
    assert row["days_waiting"].value == 3.5
    assert dict(zip(header, (c.value for c in sheet[3]), strict=True))["days_waiting"] == 4.5
    assert sheet.column_dimensions["E"].width >= len(PLAN)  # exchange_plan_id: wide enough to read
    assert [[c.value for c in r] for r in book["Filters"].iter_rows()] == [["Filter", "Value"], *map(list, FILTERS)]
    # pandas reads the ids back intact too
    frame = pd.read_excel(io.BytesIO(data), sheet_name="Work list", dtype=str)
    assert frame["record_id"].tolist() == ["0002", "0003"] and frame["issuer_id"].tolist() == [ISSUER] * 2


def test_backlog_download_rows_in_words_iso_times_and_tenths():
    rows = [
        {
            "enrollment_id": "0007",
            "issuer_id": ISSUER,
            "state": "NC",
            "stage": "awaiting_payment",
            "waiting_since": datetime(2013, 11, 2, 9, 0, 0, 500000),
            "age_days": 3.04166,
            "age_bucket": "0-7",
            "payment_due_date": date(2013, 12, 15),
            "deadline": "at_risk",
            "name": "Acme Health (00042)",  # the page's column: the download has issuer_name instead
        }
    ]
    [row] = ui.download_frame(rows, NAMES).to_dict("records")
    assert row == {
        "enrollment_id": "0007",
        "issuer_id": ISSUER,
        "issuer_name": "Acme Health",
        "state": "NC",
        "stage": "Awaiting binder payment",
        "waiting_since": "2013-11-02T09:00:00.500000Z",
        "age_days": 3.0,
        "age_bucket": "0-7",
        "payment_due_date": "2013-12-15",
        "deadline": "At risk",
    }
    # an issuer that issuers.csv does not name: no name rather than the id twice
    assert ui.download_frame([{"issuer_id": "777"}], {"777": "777"}).to_dict("records") == [
        {"issuer_id": "777", "issuer_name": None}
    ]


# ------------------------------------------------------------------ the chosen list is in the address


@pytest.fixture
def export_dir(tmp_path):
    return write_export(
        tmp_path / "export",
        enrollments=[enrollment("0002", issuer_id=ISSUER), enrollment("0003", issuer_id=ISSUER)],
        transactions=[outbound("X2", "0002", "2013-11-02 09:00", issuer_id=ISSUER)],
        issuers=[[ISSUER, "Acme Health", "NC"]],
    )


def test_backlog_tab_comes_from_the_url(app_page, export_dir):
    at = app_page("backlog", data_dir=export_dir, list="Oldest")
    assert at.session_state["list"] == "Oldest"
    assert at.query_params["list"] == "Oldest"


def test_reconciliation_category_comes_from_the_url(app_page, export_dir):
    at = app_page("issuer", data_dir=export_dir, recon_category="Exchange only")
    assert at.session_state["recon_category"] == "exchange_only"
    [table] = [t.value for t in at.dataframe if "Days waiting" in t.value.columns]
    assert table["Enrollment"].tolist() == ["0002", "0003"]
    assert list(table.columns) == [
        "Enrollment", "State", "Plan", "Coverage start", "834 sent (UTC)", "834 accepted (UTC)", "Days waiting",
    ]  # fmt: skip
