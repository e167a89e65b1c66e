"""834s in the federally-facilitated marketplace's layout, written by hand (tests/fixtures/x12/ffm/).

The expected values below are read off the fixture files by hand; none of them comes from the
project's writer.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dashboard.cli import main
from dashboard.x12 import ingest, read

FFM = Path(__file__).resolve().parent / "fixtures" / "x12" / "ffm"
X12_FILES = sorted(p.name for p in FFM.iterdir() if p.suffix in (".834", ".999"))
TABLE = Path(ingest.TABLE_DIR) / ingest.TABLE_FILE


def ingest_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main(["ingest-x12", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def rows_by_policy(export: Path) -> dict[tuple[str, str], dict]:
    """(direction, enrollment_id) -> row."""
    rows = pq.read_table(export / TABLE).to_pylist()
    found = {(r["direction"], r["enrollment_id"]): r for r in rows}
    assert len(found) == len(rows)
    return found


def without_id(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "transaction_id"}


@pytest.mark.parametrize("name", X12_FILES)
def test_every_file_passes_pyx12(name):
    findings, segs = read.validate((FFM / name).read_text(), name)
    assert findings == []
    assert segs[0].seg_id == "ISA" and segs[-1].seg_id == "IEA"


def test_policy_id_is_read_from_loop_2300():
    # every REF*1L of the files sits in loop 2300, none in loop 2000: the layout the tests are about
    for name in X12_FILES:
        if name.endswith(".999"):
            continue
        _, segs = read.validate((FFM / name).read_text(), name)
        loops = [s.loop for s in segs if s.seg_id == "REF" and s.value("REF01") == "1L"]
        assert loops and set(loops) == {"2300"}, name
        assert {s.value("REF01") for s in segs if s.loop == "2000" and s.seg_id == "REF"} == {"0F", "17"}


def test_subscriber_with_dependents_and_a_second_policy(tmp_path, capsys):
    export = tmp_path / "export"
    code, out, err = ingest_cli(capsys, FFM / "ffm_outbound_family.834", "--out", export)
    assert (code, err) == (0, "")
    assert "ffm_outbound_family.834: ingested, 834: 2 row(s)" in out
    rows = rows_by_policy(export)
    assert set(rows) == {("outbound", "7700101"), ("outbound", "7700102")}
    # ISA 000000201, GS 5001, ST 0001; GS04/GS05 20131202 091500 with BGN05 ET: 09:15 EST = 14:15 UTC
    family = rows["outbound", "7700101"]
    assert family["transaction_id"].startswith("CMSFFM-000000201-5001-0001-7700101-")
    assert without_id(family) == {
        "direction": "outbound",
        "enrollment_id": "7700101",  # each member's 2300 REF*1L
        "issuer_id": "12345",
        "maintenance_type": "021",
        "maintenance_reason": "EC",
        "sent_at": datetime(2013, 12, 2, 14, 15),
        "ack_code": None,
        "ack_at": None,
        "error_code": None,
        "plan_id": "12345NC001000101",
        "coverage_start_date": date(2014, 1, 1),
        "total_premium": Decimal("950.66"),  # PRE AMT TOT (REF*9X), not a member's PRE AMT 1
        "aptc_amount": Decimal("600.00"),  # APTC AMT (REF*9V)
        "member_count": 3,  # subscriber, spouse, child: all REF*0F*0001234567 and REF*1L*7700101
        "subscriber_birth_date": date(1978, 3, 14),  # the subscriber's DMG, not the dependents'
    }
    single = rows["outbound", "7700102"]
    assert (single["member_count"], single["plan_id"], single["subscriber_birth_date"]) == (
        1,
        "12345NC002000103",
        date(1990, 1, 27),
    )
    assert (single["total_premium"], single["aptc_amount"]) == (Decimal("289.47"), Decimal("120.00"))


def test_full_subsidy(tmp_path, capsys):
    export = tmp_path / "export"
    code, _, err = ingest_cli(capsys, FFM / "ffm_full_subsidy.834", "--out", export)
    assert (code, err) == (0, "")  # TOT RES AMT 0.00 = 377.95 - 377.95: no warning
    [(key, row)] = rows_by_policy(export).items()
    assert key == ("outbound", "8800201")
    assert (row["total_premium"], row["aptc_amount"]) == (Decimal("377.95"), Decimal("377.95"))
    assert (row["issuer_id"], row["plan_id"], row["member_count"]) == ("67890", "67890TX003000204", 2)
    # 23:05 CST on 15 December is 05:05 UTC on the 16th
    assert row["sent_at"] == datetime(2013, 12, 16, 5, 5)
    assert row["subscriber_birth_date"] == date(1965, 7, 30)


def test_999_arrives_in_a_later_run(tmp_path, capsys):
    export = tmp_path / "export"
    code, out, _ = ingest_cli(capsys, FFM / "ffm_two_sets.834", "--out", export)
    assert code == 0 and "2 row(s)" in out and "2 rows, 0 acknowledged" in out
    rows = rows_by_policy(export)
    assert [r["ack_code"] for r in rows.values()] == [None, None]
    assert rows["outbound", "7700302"]["coverage_start_date"] == date(2014, 2, 1)
    assert rows["outbound", "7700302"]["aptc_amount"] == Decimal("0.00")

    code, out, _ = ingest_cli(capsys, FFM / "ffm_two_sets.999", "--out", export)
    assert code == 0 and "ffm_two_sets.999: ingested, 999: 2 ack(s)" in out and "2 rows, 2 acknowledged" in out
    rows = rows_by_policy(export)
    # GS*FA ... 20131204*101500 (UTC); AK1*BE*5003; AK2 0001 IK5*A; AK2 0002 IK3*REF*15*2300*8, IK4, IK5*R*5
    accepted, rejected = rows["outbound", "7700301"], rows["outbound", "7700302"]
    assert (accepted["ack_code"], accepted["ack_at"], accepted["error_code"]) == (
        "A",
        datetime(2013, 12, 4, 10, 15),
        None,
    )
    assert (rejected["ack_code"], rejected["ack_at"], rejected["error_code"]) == (
        "R",
        datetime(2013, 12, 4, 10, 15),
        "5",
    )


def test_inbound_effectuation_carries_the_exchange_policy_id(tmp_path, capsys):
    export = tmp_path / "export"
    code, _, err = ingest_cli(
        capsys, FFM / "ffm_outbound_family.834", FFM / "ffm_effectuation_inbound.834", "--out", export
    )
    assert (code, err) == (0, "")
    rows = rows_by_policy(export)
    effectuation = rows["inbound", "7700101"]  # the REF*1L, not the issuer's REF*X9*CHP000045678
    assert effectuation["transaction_id"].startswith("12345-000000880-880-0880-7700101-")
    assert without_id(effectuation) == {
        "direction": "inbound",  # ISA06 12345 -> ISA08 CMSFFM
        "enrollment_id": "7700101",
        "issuer_id": "12345",
        "maintenance_type": "021",
        "maintenance_reason": "28",
        "sent_at": datetime(2013, 12, 30, 21, 0),  # 16:00 EST
        "ack_code": None,
        "ack_at": None,
        "error_code": None,
        "plan_id": "12345NC001000101",
        "coverage_start_date": date(2014, 1, 1),
        "total_premium": Decimal("950.66"),
        "aptc_amount": Decimal("600.00"),
        "member_count": 3,  # the spouse's REF*X9 comes before its REF*1L: still one policy
        "subscriber_birth_date": date(1978, 3, 14),
    }
    # the initial enrollment and its effectuation name the same enrollment
    assert rows["outbound", "7700101"]["enrollment_id"] == effectuation["enrollment_id"]


def test_categories_in_unexpected_qualifiers(tmp_path, capsys):
    export = tmp_path / "export"
    code, _, err = ingest_cli(capsys, FFM / "ffm_unexpected_qualifier.834", "--out", export)
    assert (code, err) == (0, "")  # TOT RES AMT 429.75 = 515.00 - 85.25
    [row] = rows_by_policy(export).values()
    # PRE AMT TOT in REF*ZZ, APTC AMT in REF*9X: REF02 whatever the qualifier
    assert (row["enrollment_id"], row["total_premium"], row["aptc_amount"]) == (
        "9900501",
        Decimal("515.00"),
        Decimal("85.25"),
    )
    assert (row["issuer_id"], row["plan_id"]) == ("24680", "24680FL004000101")  # REF*CE 24680FL0040001-01
    assert row["sent_at"] == datetime(2013, 12, 10, 16, 40)  # 08:40 PST
    assert row["coverage_start_date"] == date(2014, 1, 15)


def test_responsible_amount_that_does_not_add_up_is_kept_with_a_warning(tmp_path, capsys):
    export = tmp_path / "export"
    source = FFM / "ffm_responsible_mismatch.834"
    code, out, err = ingest_cli(capsys, source, "--out", export)
    assert code == 0
    assert err == (
        f"warning: {source}: segment 31 REF element REF02: policy 7700601: TOT RES AMT 260.00 is not "
        "PRE AMT TOT 450.00 - APTC AMT 200.00 = 250.00; the row is kept\n"
    )
    assert f"{source}: ingested, 834: 1 row(s) (1 warning(s))" in out
    [row] = rows_by_policy(export).values()
    assert (row["enrollment_id"], row["total_premium"], row["aptc_amount"]) == (
        "7700601",
        Decimal("450.00"),
        Decimal("200.00"),
    )


def test_the_whole_folder_skips_its_readme(tmp_path, capsys):
    export = tmp_path / "export"
    code, out, err = ingest_cli(capsys, FFM, "--out", export)
    assert code == 0
    assert f"{FFM / 'README.md'}: skipped, not an X12 file (no ISA header)\n" in out
    assert err.count("warning: ") == 1 and "policy 7700601" in err
    assert "8 rows, 2 acknowledged" in out
    assert sorted(rows_by_policy(export)) == [
        ("inbound", "7700101"),
        ("outbound", "7700101"),
        ("outbound", "7700102"),
        ("outbound", "7700301"),
        ("outbound", "7700302"),
        ("outbound", "7700601"),
        ("outbound", "8800201"),
        ("outbound", "9900501"),
    ]


def with_2000_ref_1l(text: str, value: str) -> str:
    """The text with REF*1L*{value} added to the first INS loop's 2000 segments (after its REF*17),
    and SE01 counted again."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("REF*17*")) + 1
    lines.insert(at, f"REF*1L*{value}~")
    se = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    count = int(lines[se].split("*")[1])
    lines[se] = lines[se].replace(f"SE*{count}*", f"SE*{count + 1}*")
    return "\n".join(lines) + "\n"


def test_loop_2300_policy_id_comes_before_loop_2000(tmp_path):
    text = with_2000_ref_1l((FFM / "ffm_full_subsidy.834").read_text(), "OLD-2000-ID")
    assert read.validate(text, "both")[0] == []
    [row] = read.read_x12(text, "both").rows
    assert (row["enrollment_id"], row["member_count"]) == ("8800201", 2)


def test_loop_2000_policy_id_when_2300_has_none():
    text = (FFM / "ffm_responsible_mismatch.834").read_text().replace("REF*1L*7700601~\n", "")
    text = with_2000_ref_1l(text.replace("SE*31*", "SE*30*"), "7700601")
    assert read.validate(text, "2000")[0] == []
    [row] = read.read_x12(text, "2000").rows
    assert row["enrollment_id"] == "7700601"


def test_without_any_policy_id_the_subscriber_id_groups_the_members():
    text = (FFM / "ffm_full_subsidy.834").read_text().replace("REF*1L*8800201~\n", "")
    text = text.replace("SE*51*", "SE*49*")
    assert read.validate(text, "none")[0] == []
    [row] = read.read_x12(text, "none").rows
    # no REF*1L anywhere: both members' REF*0F*0003456789 is the policy id, and no enrollment id
    assert (row["enrollment_id"], row["member_count"]) == (None, 2)
    assert "-0003456789-" in row["transaction_id"]


def test_an_amount_category_that_is_not_money_rejects_the_file():
    text = (FFM / "ffm_full_subsidy.834").read_text().replace("REF*9V*0.00~", "REF*9V*NONE~")
    assert read.validate(text, "odd")[0] == []
    result = read.read_x12(text, "odd")
    [finding] = result.findings
    assert (finding.segment_id, finding.element) == ("REF", "REF02")
    assert finding.message == "TOT RES AMT 'NONE' is not an amount in dollars and cents"
    assert result.rows == [] and result.warnings == []
