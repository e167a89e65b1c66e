"""`python -m dashboard ingest-x12`: X12 834 / 999 files into transactions_834 (dashboard/x12/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from exportkit import SCHEMAS
from helpers import REPO

from dashboard.cli import main
from dashboard.x12 import ingest, read

# the public samples of shared/samples/x12, copied into the repository (origins and licences in its README)
SAMPLES = Path(__file__).resolve().parent / "fixtures" / "x12"
INVALID_SAMPLES = ("lfh_enroll-employee-managed-care.834", "pyx12_example834_5010.txt")
# every valid sample and the rows it gives (one per policy id per transaction set)
VALID_SAMPLES = {
    "lfh_add-dependent.834": 1,
    "lfh_add-subscriber-coverage.834": 1,
    "lfh_cancel-dependent.834": 1,
    "lfh_change-subscriber-information.834": 1,
    "lfh_enroll-employee-multiple-products.834": 1,
    "lfh_reinstate-employee-coverage-level.834": 1,
    "lfh_reinstate-employee.834": 1,
    "lfh_reinstate-member-eligiblity-ins.834": 1,
    "lfh_terminate-subscriber-eligibility.834": 1,
    # three INS loops, each with its own REF*0F (M000002 with REF*1L*GRP002, M000003, M000004) and no
    # REF*1L on the dependents: three policy ids, three rows (see test_policy_grouping_of_dependents)
    "pyx12_834_deident_family.txt": 3,
    "pyx12_834_deident_new_enroll.txt": 1,
    # two INS*Y loops that share REF*1L*GRP003: one row with member_count 2
    "pyx12_834_deident_term.txt": 1,
    "pyx12_834_ls_le_ls.txt": 1,
}
TABLE = Path(ingest.TABLE_DIR) / ingest.TABLE_FILE


@pytest.fixture
def samples() -> Path:
    assert SAMPLES.is_dir(), f"the X12 samples are missing from {SAMPLES}"
    return SAMPLES


# ---------------------------------------------------------------------------------------------
# Literal X12 built for the tests (each builder's output is checked to pass pyx12's validator)


def isa(sender: str, receiver: str, control: str) -> str:
    return f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*131201*1000*^*00501*{control}*0*P*:"


def member(
    subscriber: bool = True,
    s0f: str = "S1",
    s1l: str | None = "P1",
    birth: str = "19800517",
    plan: str | None = "12345NC0010001-01",
    premium: str | None = "400.00",
    aptc: str | None = "250.00",
    reason: str = "EC",
) -> list[str]:
    """One 2000 loop in the marketplace's layout (2300 with REF*CE, 2750 premium categories)."""
    segs = [f"INS*{'Y*18' if subscriber else 'N*19'}*021*{reason}*A***AC", f"REF*0F*{s0f}"]
    if s1l:
        segs.append(f"REF*1L*{s1l}")
    segs += ["NM1*IL*1*DOE*JANE", f"DMG*D8*{birth}*F"]
    if subscriber:
        segs += ["HD*021**HLT", "DTP*348*D8*20140101"]
        if plan:
            segs.append(f"REF*CE*{plan}")
        categories = [(n, a) for n, a in (("PRE AMT TOT", premium), ("APTC AMT", aptc)) if a is not None]
        if categories:
            segs.append("LS*2700")
            for i, (name, amount) in enumerate(categories, 1):
                segs += [f"LX*{i}", f"N1*75*{name}", f"REF*9X*{amount}"]
            segs.append("LE*2700")
    return segs


def x834(
    *sets: list[str],
    sender: str = "CMSFFM",
    receiver: str = "12345",
    tz: str | None = "ET",
    gs_date: str = "20131201",
    gs_time: str = "1000",
    group: str = "101",
    control: str = "000000101",
) -> str:
    """An interchange of one 834 group; each set is a list of 2000-loop segments (ST02 0001, 0002, ...)."""
    body = [isa(sender, receiver, control), f"GS*BE*{sender}*{receiver}*{gs_date}*{gs_time}*{group}*X*005010X220A1"]
    for n, members in enumerate(sets, 1):
        st02 = f"{n:04d}"
        segs = [
            f"ST*834*{st02}*005010X220A1",
            f"BGN*00*REF{st02}*20131201*1000*{tz or ''}***2",
            "N1*P5*EXCHANGE*FI*123456789",
            "N1*IN*ISSUER*FI*987654321",
            *members,
        ]
        body += segs + [f"SE*{len(segs) + 1}*{st02}"]
    body += [f"GE*{len(sets)}*{group}", f"IEA*1*{control}"]
    return "~\n".join(body) + "~\n"


def x999(
    loops: list[tuple[str, str, list[str]]],
    sender: str = "12345",
    receiver: str = "CMSFFM",
    group: str = "101",
    gs_date: str = "20131202",
    gs_time: str = "083000",
    control: str = "000000900",
) -> str:
    """A 999 acknowledging 834 sets of group `group`: loops of (ST02, IK5 elements, IK3/IK4 segments)."""
    segs = ["ST*999*0001*005010X231A1", f"AK1*BE*{group}*005010X220A1"]
    for st02, ik5, errors in loops:
        segs += [f"AK2*834*{st02}*005010X220A1", *errors, f"IK5*{ik5}"]
    accepted = sum(1 for _, ik5, _ in loops if ik5[0] in "AE")
    segs.append(
        f"AK9*{'A' if accepted == len(loops) else 'P' if accepted else 'R'}*{len(loops)}*{len(loops)}*{accepted}"
    )
    segs.append(f"SE*{len(segs) + 1}*0001")
    body = [
        isa(sender, receiver, control),
        f"GS*FA*{sender}*{receiver}*{gs_date}*{gs_time}*900*X*005010X231A1",
        *segs,
        "GE*1*900",
        f"IEA*1*{control}",
    ]
    return "~\n".join(body) + "~\n"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def valid(text: str) -> str:
    findings, _ = read.validate(text, "literal")
    assert findings == [], findings
    return text


def ingest_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main(["ingest-x12", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(export: Path) -> list[dict]:
    return pq.read_table(export / TABLE).to_pylist()


def by_enrollment(export: Path) -> dict:
    return {r["enrollment_id"]: r for r in table_rows(export)}


# ---------------------------------------------------------------------------------------------
# The public samples


@pytest.mark.parametrize("name", sorted(VALID_SAMPLES))
def test_every_valid_sample_ingests(samples, tmp_path, capsys, name):
    code, out, err = ingest_cli(capsys, samples / name, "--out", tmp_path / "export")
    assert code == 0, err
    assert err == ""
    assert f"{name}: ingested, 834: {VALID_SAMPLES[name]} row(s)" in out
    assert len(table_rows(tmp_path / "export")) == VALID_SAMPLES[name]


def test_sample_fields_checked_by_hand(samples, tmp_path, capsys):
    export = tmp_path / "export"
    code, _, err = ingest_cli(capsys, *(samples / n for n in VALID_SAMPLES), "--out", export)
    assert code == 0, err
    rows = table_rows(export)
    assert len(rows) == sum(VALID_SAMPLES.values())
    assert len({r["transaction_id"] for r in rows}) == len(rows)  # the lfh samples all reuse the same controls

    def row(sample: str, **match) -> dict:
        rows = read.read_x12((samples / sample).read_bytes(), sample).rows
        [found] = [r for r in rows if all(r[k] == v for k, v in match.items())]
        [stored] = [r for r in table_rows(export) if r["transaction_id"] == found["transaction_id"]]
        return stored

    # lfh_add-dependent.834: ISA06 123456789012345 -> ISA08 123456789012346 (neither is CMSFFM: outbound,
    # issuer = receiver, no REF*CE); INS*N*19*021*20 (no subscriber loop: the dependent's loop leads);
    # REF*1L*123456001; DTP*348*D8*19960601; DMG*D8*19770816; GS*...*20080503*1705 with no BGN05: UTC
    r = row("lfh_add-dependent.834")
    assert r["direction"] == "outbound" and r["issuer_id"] == "123456789012346" and r["plan_id"] is None
    assert (r["maintenance_type"], r["maintenance_reason"]) == ("021", "20")
    assert r["enrollment_id"] == "123456001" and r["member_count"] == 1
    assert r["coverage_start_date"] == date(1996, 6, 1) and r["subscriber_birth_date"] == date(1977, 8, 16)
    assert r["sent_at"] == datetime(2008, 5, 3, 17, 5)
    assert r["transaction_id"].startswith("123456789012345-000010216-20213-0001-123456001-")
    assert (r["ack_code"], r["ack_at"], r["error_code"]) == (None, None, None)

    # lfh_reinstate-employee-coverage-level.834: INS*Y*18*025**A (INS04 empty -> null); DTP*348*D8*20020701;
    # no DMG
    r = row("lfh_reinstate-employee-coverage-level.834")
    assert (r["maintenance_type"], r["maintenance_reason"]) == ("025", None)
    assert r["coverage_start_date"] == date(2002, 7, 1) and r["subscriber_birth_date"] is None

    # lfh_change-subscriber-information.834: the 2100A DMG*D8*19500415, not 2100B's (NM1*70) DMG*D8*19500416
    assert row("lfh_change-subscriber-information.834")["subscriber_birth_date"] == date(1950, 4, 15)

    # pyx12_834_ls_le_ls.txt: ORDHS -> MB888880; INS*Y*18*001*AI; REF*0F*REF OF and no REF*1L (enrollment id
    # null, policy id "REF OF"); DTP*348*D8*20120901; DMG*D8*19830719; GS 20130312 020630 with BGN05 = PT
    # (Pacific daylight time on 12 March 2013: UTC-7); its 2750 loops carry NEWBORN INDICATOR, ..., TPL CODE
    # (REF*9X*99): no PRE AMT TOT or APTC AMT, so no money
    r = row("pyx12_834_ls_le_ls.txt")
    assert r["direction"] == "outbound" and r["issuer_id"] == "MB888880"
    assert (r["maintenance_type"], r["maintenance_reason"]) == ("001", "AI")
    assert r["enrollment_id"] is None and "-146-146001-REF OF-" in r["transaction_id"]
    assert r["coverage_start_date"] == date(2012, 9, 1) and r["subscriber_birth_date"] == date(1983, 7, 19)
    assert r["sent_at"] == datetime(2013, 3, 12, 9, 6, 30)
    assert r["total_premium"] is None and r["aptc_amount"] is None

    # pyx12_834_deident_term.txt: two INS*Y*18*024*XN loops, both REF*1L*GRP003: one row, member_count 2, from
    # the first (DMG*D8*19680924); ISA06 TECHCORP -> ISA08 PRIMEHEALTH (the issuer: no REF*CE)
    r = row("pyx12_834_deident_term.txt")
    assert r["enrollment_id"] == "GRP003" and r["member_count"] == 2
    assert (r["maintenance_type"], r["maintenance_reason"]) == ("024", "XN")
    assert r["subscriber_birth_date"] == date(1968, 9, 24) and r["issuer_id"] == "PRIMEHEALTH"

    # pyx12_834_deident_family.txt: subscriber INS*Y (REF*0F*M000002, REF*1L*GRP002, DMG 19750820,
    # DTP*348 20260401); dependents INS*N*01 (REF*0F*M000003) and INS*N*19 (REF*0F*M000004) without REF*1L
    r = row("pyx12_834_deident_family.txt", enrollment_id="GRP002")
    assert r["member_count"] == 1 and r["subscriber_birth_date"] == date(1975, 8, 20)
    assert r["coverage_start_date"] == date(2026, 4, 1) and r["sent_at"] == datetime(2026, 4, 1, 9)
    r = row("pyx12_834_deident_family.txt", subscriber_birth_date=date(1977, 3, 3))
    assert r["enrollment_id"] is None and "-100002-0001-M000003-" in r["transaction_id"]


def test_policy_grouping_of_dependents(samples):
    # The family sample with the dependents carrying the subscriber's id in REF*0F, as the implementation
    # guide has it: they join the subscriber's REF*1L policy -> one row, member_count 3.
    text = (samples / "pyx12_834_deident_family.txt").read_text()
    text = valid(text.replace("REF*0F*M000003", "REF*0F*M000002").replace("REF*0F*M000004", "REF*0F*M000002"))
    [r] = read.read_x12(text, "family").rows
    assert r["enrollment_id"] == "GRP002" and r["member_count"] == 3
    assert r["subscriber_birth_date"] == date(1975, 8, 20)  # the subscriber's loop, not a dependent's


def test_marketplace_layout_money_plan_and_members():
    text = valid(
        x834(
            member(premium="400.00", aptc="250.5")
            + member(subscriber=False)
            + member(
                s0f="S2", s1l="P2", birth="19700101", plan="67890TX0020002-03", premium=None, aptc=None, reason="28"
            )
        )
    )
    rows = {r["enrollment_id"]: r for r in read.read_x12(text, "lit").rows}
    # INS*Y ... REF*1L*P1, REF*CE*12345NC0010001-01, N1*75*PRE AMT TOT/REF*9X*400.00, N1*75*APTC AMT/REF*9X*250.5
    # plus a dependent INS*N with REF*1L*P1
    p1 = rows["P1"]
    assert p1["plan_id"] == "12345NC001000101" and p1["issuer_id"] == "12345"
    assert p1["total_premium"] == Decimal("400.00") and p1["aptc_amount"] == Decimal("250.50")
    assert p1["member_count"] == 2 and p1["coverage_start_date"] == date(2014, 1, 1)
    p2 = rows["P2"]
    assert p2["issuer_id"] == "67890" and p2["maintenance_reason"] == "28"
    assert p2["total_premium"] is None and p2["aptc_amount"] is None and p2["member_count"] == 1


@pytest.mark.parametrize(
    "segment, element, text",
    [
        ("REF", "REF02", x834(member(plan="12345NC0010001-0"))),  # 15 characters once the hyphen is gone
        ("REF", "REF02", x834(member(premium="400.005"))),  # not whole cents
        ("BGN", "BGN05", x834(member(), tz="LT")),  # local time: which zone?
        ("BGN", "BGN05", x834(member(), tz="01")),
    ],
)
def test_valid_but_unmappable_is_a_finding(segment, element, text):
    result = read.read_x12(valid(text), "odd.834")
    assert result.kind == "rejected" and result.rows == []
    [finding] = result.findings
    assert (finding.file, finding.segment_id, finding.element) == ("odd.834", segment, element)
    assert finding.segment_number and str(finding).startswith(f"odd.834: segment {finding.segment_number} ")


# ---------------------------------------------------------------------------------------------
# Rejection, idempotence, storage


def test_invalid_samples_rejected_and_valid_file_still_ingested(samples, tmp_path, capsys):
    export = tmp_path / "export"
    code, out, err = ingest_cli(
        capsys, *(samples / n for n in INVALID_SAMPLES), samples / "pyx12_834_deident_new_enroll.txt", "--out", export
    )
    assert code == 2
    # each finding names the file and the segment: managed-care's DTP*358 (the 10th segment of the file)
    # and the example's leading spaces and over-long INS06-01
    assert f"  {samples / INVALID_SAMPLES[0]}: segment 10 DTP: Segment DTP*358 not found" in err
    assert f"  {samples / INVALID_SAMPLES[1]}: segment 2 GS: Segment contains a leading space" in err
    assert (
        f'  {samples / INVALID_SAMPLES[1]}: segment 8 INS element INS06-01: Data element "Medicare Plan '
        'Code" (INS06-01) is too long'
    ) in err
    assert "Traceback" not in err and "pyx12_834_deident_new_enroll.txt: ingested, 834: 1 row(s)" in out
    [row] = table_rows(export)
    assert row["enrollment_id"] == "GRP001"
    states = [json.loads(p.read_text()) for p in (export / ingest.STATE_DIR).glob("*.json")]
    assert [Path(s["source"]).name for s in states] == ["pyx12_834_deident_new_enroll.txt"]

    # a run of rejected files only writes nothing at all
    code, _, _ = ingest_cli(capsys, *(samples / n for n in INVALID_SAMPLES), "--out", tmp_path / "other")
    assert code == 2 and not (tmp_path / "other").exists()


def test_reingesting_the_same_content_adds_nothing(samples, tmp_path, capsys):
    export = tmp_path / "export"
    source = samples / "pyx12_834_deident_family.txt"
    assert ingest_cli(capsys, source, "--out", export)[0] == 0
    first = table_rows(export)
    copy = write(tmp_path / "inbox" / "sub", "renamed.edi", source.read_text())
    code, out, _ = ingest_cli(capsys, source, tmp_path / "inbox", source, "--out", export)
    assert code == 0
    assert out.count("already ingested") == 3 and f"{copy}: already ingested (same content as {source})" in out
    assert table_rows(export) == first and len(first) == 3
    assert len(list((export / ingest.STATE_DIR).glob("*.json"))) == 1


def test_directories_skip_dot_and_underscore_names(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    write(inbox, "a.834", valid(x834(member())))
    write(inbox / "deeper", "b.834", valid(x834(member(s1l="P9"), control="000000102")))
    write(inbox, ".partial.834", "ISA*garbage")
    write(inbox, "_notes.txt", "not X12")
    write(inbox / "_old", "c.834", "not X12")
    code, _, err = ingest_cli(capsys, inbox, "--out", tmp_path / "export")
    assert code == 0, err
    assert sorted(r["enrollment_id"] for r in table_rows(tmp_path / "export")) == ["P1", "P9"]


def test_missing_input_is_bad_input(tmp_path, capsys):
    code, _, err = ingest_cli(capsys, tmp_path / "nope.834", "--out", tmp_path / "export")
    assert code == 2 and "nope.834: no such file or directory" in err and not (tmp_path / "export").exists()


def test_written_table_has_the_contract_schema_and_nothing_else_appears(samples, tmp_path, capsys):
    export = tmp_path / "export"
    other = write(export / ingest.TABLE_DIR, "from-the-exchange.parquet", "placeholder bytes")
    releases = write(export, "releases.csv", "release_id,deployed_at,component,title,issuer_id\n")
    ingest_cli(capsys, samples / "pyx12_834_ls_le_ls.txt", samples / INVALID_SAMPLES[0], "--out", export)
    ingest_cli(capsys, write(tmp_path, "m.834", valid(x834(member()))), "--out", export)
    table = pq.read_table(export / TABLE)
    assert table.schema.equals(SCHEMAS["transactions_834"]) and table.num_rows == 2
    assert pq.read_schema(export / TABLE).names == SCHEMAS["transactions_834"].names
    visible = sorted(
        str(p.relative_to(export))
        for p in export.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(export).parts)
    )
    assert visible == sorted([str(TABLE), str(other.relative_to(export)), "releases.csv"])
    assert other.read_text() == "placeholder bytes" and releases.read_text().startswith("release_id,")
    assert not [p for p in export.rglob(".*")]  # no temporary file left behind


# ---------------------------------------------------------------------------------------------
# 999 acknowledgements


def two_sets_834() -> str:
    return valid(x834(member(s1l="P1"), member(s0f="S2", s1l="P2")))  # ST02 0001 (P1), 0002 (P2), GS06 101


def test_999_in_the_same_run(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    write(inbox, "a-834.x12", two_sets_834())
    # AK1*BE*101; AK2 0001 IK5*A; AK2 0002 with IK3*REF*9**8, IK4*2*127*7, IK5*R*5 (IK502 first)
    write(inbox, "b-999.x12", valid(x999([("0001", "A", []), ("0002", "R*5", ["IK3*REF*9**8", "IK4*2*127*7*X"])])))
    code, out, err = ingest_cli(capsys, inbox, "--out", tmp_path / "export")
    assert code == 0, err
    assert "b-999.x12: ingested, 999: 2 ack(s)" in out and "2 acknowledged" in out
    rows = by_enrollment(tmp_path / "export")
    # ack_at: the 999's GS*FA ... 20131202*083000, read as UTC
    assert (rows["P1"]["ack_code"], rows["P1"]["ack_at"], rows["P1"]["error_code"]) == (
        "A",
        datetime(2013, 12, 2, 8, 30),
        None,
    )
    assert (rows["P2"]["ack_code"], rows["P2"]["error_code"]) == ("R", "5")


def test_999_before_and_after_its_834_in_later_runs(tmp_path, capsys):
    export = tmp_path / "export"
    ack = write(tmp_path, "ack.999", valid(x999([("0002", "E", ["IK3*REF*9**8"])])))  # IK304 = 8
    code, out, _ = ingest_cli(capsys, ack, "--out", export)
    assert code == 0 and "1 ack(s), 1 waiting for their 834" in out and "1 ack(s) wait for their 834" in out
    assert table_rows(export) == []  # the table exists, empty, until the 834 comes
    code, out, _ = ingest_cli(capsys, write(tmp_path, "enroll.834", two_sets_834()), "--out", export)
    assert code == 0
    rows = by_enrollment(export)
    assert (rows["P2"]["ack_code"], rows["P2"]["error_code"]) == ("E", "8") and rows["P1"]["ack_code"] is None

    # a later 999 for set 0001: IK5*X (treated as R) whose only error code is the IK4's IK403 = 7
    late = valid(x999([("0001", "X", ["IK3*REF*9", "IK4*2*127*7*X"])], gs_date="20131203", control="000000901"))
    code, out, _ = ingest_cli(capsys, write(tmp_path, "late.999", late), "--out", export)
    rows = by_enrollment(export)
    assert (rows["P1"]["ack_code"], rows["P1"]["ack_at"], rows["P1"]["error_code"]) == (
        "R",
        datetime(2013, 12, 3, 8, 30),
        "7",
    )
    assert rows["P2"]["ack_code"] == "E" and len(rows) == 2


def test_999_matches_the_set_sent_to_its_sender(tmp_path, capsys):
    export = tmp_path / "export"
    # two 834s with the same GS06/ST02, to issuers 11111 and 22222; the 999 comes from 22222
    to_a = write(tmp_path, "a.834", valid(x834(member(s1l="PA", plan=None), receiver="11111")))
    to_b = write(tmp_path, "b.834", valid(x834(member(s1l="PB", plan=None), receiver="22222")))
    ack = write(tmp_path, "b.999", valid(x999([("0001", "R", [])], sender="22222")))
    assert ingest_cli(capsys, to_a, to_b, ack, "--out", export)[0] == 0
    rows = by_enrollment(export)
    assert rows["PB"]["ack_code"] == "R" and rows["PA"]["ack_code"] is None
    assert (rows["PA"]["issuer_id"], rows["PB"]["issuer_id"]) == ("11111", "22222")  # no plan: ISA08


# ---------------------------------------------------------------------------------------------
# Time zones and direction


@pytest.mark.parametrize(
    "tz, gs_date, gs_time, utc",
    [
        ("ET", "20131201", "1000", datetime(2013, 12, 1, 15)),  # EST, UTC-5
        ("ET", "20130701", "1000", datetime(2013, 7, 1, 14)),  # EDT, UTC-4
        ("ES", "20130701", "1000", datetime(2013, 7, 1, 15)),  # fixed UTC-5, even in summer
        ("PD", "20131201", "1000", datetime(2013, 12, 1, 17)),  # fixed UTC-7
        ("HT", "20130701", "1000", datetime(2013, 7, 1, 20)),  # Hawaii: no daylight saving
        ("UT", "20131201", "1000", datetime(2013, 12, 1, 10)),
        (None, "20131201", "1000", datetime(2013, 12, 1, 10)),  # no BGN05: UTC
        ("CT", "20131201", "10203045", datetime(2013, 12, 1, 16, 20, 30, 450000)),  # HHMMSSDD
    ],
)
def test_sent_at_reads_gs_time_in_the_bgn05_zone(tz, gs_date, gs_time, utc):
    [row] = read.read_x12(valid(x834(member(), tz=tz, gs_date=gs_date, gs_time=gs_time)), "tz").rows
    assert row["sent_at"] == utc


def test_unknown_time_code_is_rejected_through_the_cli(tmp_path, capsys):
    path = write(tmp_path, "lt.834", valid(x834(member(), tz="LT")))
    code, _, err = ingest_cli(capsys, path, "--out", tmp_path / "export")
    assert code == 2 and f"{path}: segment 4 BGN element BGN05: time code 'LT' cannot be converted" in err
    assert not (tmp_path / "export").exists()


@pytest.mark.parametrize(
    "sender, receiver, flags, direction, issuer",
    [
        ("CMSFFM", "12345", [], "outbound", "12345"),
        ("12345", "CMSFFM", [], "inbound", "12345"),
        ("STATEX", "12345", [], "outbound", "12345"),  # neither side is the exchange: sender to receiver
        ("12345", "STATEX", [], "outbound", "STATEX"),
        ("12345", "STATEX", ["--exchange-id", "STATEX"], "inbound", "12345"),
        ("CMSFFM", "12345", ["--exchange-id", "STATEX"], "outbound", "12345"),
    ],
)
def test_direction_and_issuer_from_the_envelope(tmp_path, capsys, sender, receiver, flags, direction, issuer):
    path = write(tmp_path, "d.834", valid(x834(member(plan=None), sender=sender, receiver=receiver)))
    assert ingest_cli(capsys, path, "--out", tmp_path / "export", *flags)[0] == 0
    [row] = table_rows(tmp_path / "export")
    assert (row["direction"], row["issuer_id"]) == (direction, issuer)


def test_another_exchange_id_remaps_without_duplicates(tmp_path, capsys):
    path = write(tmp_path, "d.834", valid(x834(member(plan=None), sender="12345", receiver="STATEX")))
    export = tmp_path / "export"
    ingest_cli(capsys, path, "--out", export)
    assert [r["direction"] for r in table_rows(export)] == ["outbound"]
    code, out, _ = ingest_cli(capsys, path, "--out", export, "--exchange-id", "STATEX")
    assert code == 0 and "re-mapped for the new exchange id" in out
    assert [r["direction"] for r in table_rows(export)] == ["inbound"]


def test_end_to_end_subprocess_has_no_traceback(samples, tmp_path):
    shutil.copy(samples / INVALID_SAMPLES[1], tmp_path / "bad.txt")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "ingest-x12",
            str(tmp_path / "bad.txt"),
            str(samples / "lfh_add-dependent.834"),
            "--out",
            str(tmp_path / "export"),
        ],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "bad.txt: segment 8 INS element INS06-01" in done.stderr and "Traceback" not in done.stderr
    assert "lfh_add-dependent.834: ingested, 834: 1 row(s)" in done.stdout
