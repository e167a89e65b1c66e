"""Read one X12 file: validate it with pyx12 and map it to transactions_834 rows or 999 acknowledgements.

Two kinds of input are understood:

* 834 benefit enrollment (GS01 = BE, GS08 = 005010X220A1, ST01 = 834): one row per policy-level
  transaction, in the layout of the data contract's transactions_834 table (without the
  acknowledgement columns, which a 999 fills in later; see ingest.py).
* 999 implementation acknowledgement (GS01 = FA, GS08 = 005010X231A1 or 005010X231, ST01 = 999):
  one acknowledgement per AK2 loop that acknowledges an 834 transaction set.

Validation is pyx12's (``pyx12.x12n_document.x12n_document`` against the implementation-guide
maps). A file with any finding, from the validator or from the mapping here (an unknown BGN05
time code, a plan id that is not 16 characters, ...), is rejected whole: the result carries the
findings and no rows or acknowledgements.

Mapping decisions beyond the data contract (the layout is the federally-facilitated marketplace's
834 companion guide: the exchange's policy id in each member's 2300 REF*1L, the amounts in 2750
reporting categories whose REF qualifier varies by category):

* Policy id of an INS loop: the first REF*1L of its 2300 loops, else its 2000 REF*1L; a loop
  without either joins the policy of the subscriber loop (INS01 = Y) of the same set with the same
  REF*0F (on a dependent's loop REF*0F is the subscriber's id); else its REF*0F is the policy id;
  else "loop{n}". enrollment_id is that REF*1L, null when the policy id is not one. A 2300 REF*X9
  (the issuer's own policy id, on effectuations) is not the exchange's and is not read.
* From the lead loop (the subscriber's, else the first): the first 2300 REF*CE, the first 2300
  DTP*348, the 2100A DMG. Reporting categories (2750: N1*75*{name}, then one REF): the amount is
  REF02 whatever the qualifier (PRE AMT TOT and PRE AMT 1 come in 9X, APTC AMT and TOT RES AMT in
  9V, but a sender may use another); PRE AMT TOT, APTC AMT and TOT RES AMT are read from the lead
  loop, else from the first loop of the policy that carries them. A plan id that is not 16
  characters once hyphens are removed, or one of those amounts that is not whole cents (or beyond
  decimal(10,2)), rejects the file.
* TOT RES AMT (what the enrollees owe) is not stored; when it and PRE AMT TOT are present and it is
  not PRE AMT TOT - APTC AMT (0 when absent), the row is kept and the result carries a warning
  naming the policy.
* transaction_id: `{ISA06}-{ISA13}-{GS06}-{ST02}-{policy id}-{8 hex digits of sha256 of the set's
  segments}`: stable on re-ingestion, and distinct for different sets that reuse control numbers.
* sent_at: GS04/GS05 in the BGN05 zone; at a daylight-saving change an ambiguous local time is
  read as the first of its two instants (zoneinfo's fold = 0), a skipped one with the offset
  before the change.

pyx12 parses its implementation-guide maps on every validation (about 0.1 s); validate() hands it
maps parsed once per process instead (see _load_map_once).

Everything else here is pure: no printing, no files written.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.segment
import pyx12.x12file
import pyx12.x12n_document

from ..defaults import DEFAULT_EXCHANGE_ID

# (GS01, GS08, ST01) of what is ingested. pyx12 ships a map for the 999 both as 005010X231 and as
# 005010X231A1; both are accepted.
KIND_834 = "834"
KIND_999 = "999"
_GROUPS = {
    ("BE", "005010X220A1"): KIND_834,
    ("FA", "005010X231A1"): KIND_999,
    ("FA", "005010X231"): KIND_999,
}

# BGN05 time codes. The US zones with daylight saving are IANA zones; their standard/daylight
# variants are fixed offsets. Any other code (LT local time, the numeric ISO offsets 01-24,
# Newfoundland N*, Atlantic T*) is a finding: the time is not guessed.
_ZONES: dict[str, tzinfo] = {
    "ET": ZoneInfo("America/New_York"),
    "CT": ZoneInfo("America/Chicago"),
    "MT": ZoneInfo("America/Denver"),
    "PT": ZoneInfo("America/Los_Angeles"),
    "AT": ZoneInfo("America/Anchorage"),
    "HT": ZoneInfo("Pacific/Honolulu"),
    "UT": UTC,
    "GM": UTC,
}
for _std, _dst, _hours in (
    ("ES", "ED", -5),
    ("CS", "CD", -6),
    ("MS", "MD", -7),
    ("PS", "PD", -8),
    ("AS", "AD", -9),
    ("HS", "HD", -10),
):
    _ZONES[_std] = timezone(timedelta(hours=_hours), _std)
    _ZONES[_dst] = timezone(timedelta(hours=_hours + 1), _dst)

# IK501 codes beyond A/E/R (M: rejected, message authentication code failed; W: rejected,
# assurance failed validity tests; X: rejected, content could not be analyzed) all reject the set.
_ACK_CODES = {"A": "A", "E": "E", "R": "R", "M": "R", "W": "R", "X": "R"}

PLAN_ID_LENGTH = 16
_MAX_MONEY = Decimal("99999999.99")  # decimal(10,2)
_ENVELOPE = ("ISA", "GS", "ST", "SE", "GE", "IEA")
_LOG_LINE = re.compile(r"Line:(\d+) SEG:\S+ - (.*)$")

# The reporting categories (2750 N1*75*{name}) that become columns or are checked against them.
PREMIUM_TOTAL = "PRE AMT TOT"
APTC = "APTC AMT"
RESPONSIBLE_TOTAL = "TOT RES AMT"
_MONEY_CATEGORIES = (PREMIUM_TOTAL, APTC, RESPONSIBLE_TOTAL)

# pyx12's x12n_document parses each map it needs with pyx12.map_if.load_map_file, on every call:
# about 0.1 s a file for the 834's, most of the time a small file takes. Validating a file does not
# change a map (the walker keeps its counts apart; nodes only cache their own paths), so one parsed
# map serves every file of a process. Only calls with this module's own params object are served
# from the cache; anyone else using pyx12 in the process gets pyx12's loader unchanged.
_PARAMS = pyx12.params.ParamsBase()
_pyx12_load_map_file = pyx12.map_if.load_map_file


@functools.cache
def _parsed_map(map_file: str, map_path: str | None) -> Any:
    return _pyx12_load_map_file(map_file, _PARAMS, map_path)


def _load_map_once(map_file: str, param: pyx12.params.ParamsBase, map_path: str | None = None) -> Any:
    if param is _PARAMS:
        return _parsed_map(map_file, map_path)
    return _pyx12_load_map_file(map_file, param, map_path)


if getattr(pyx12.map_if.load_map_file, "__module__", None) != __name__:
    pyx12.map_if.load_map_file = _load_map_once


@dataclass(frozen=True)
class Finding:
    """Why a file is rejected: where (segment number in the file, segment id, element) and what."""

    file: str
    segment_number: int | None  # 1 = the ISA segment: the position of the segment in the file
    segment_id: str | None
    element: str | None  # reference designator, e.g. "BGN05" or "INS06-01"
    message: str

    def __str__(self) -> str:
        where = []
        if self.segment_number is not None:
            where.append(f"segment {self.segment_number}")
        if self.segment_id:
            where.append(self.segment_id)
        if self.element:
            where.append(f"element {self.element}")
        return f"{self.file}: {' '.join(where) + ': ' if where else ''}{self.message}"


@dataclass(frozen=True)
class SetKey:
    """The identity of one 834 transaction set, as a 999 refers to it."""

    group_control: str  # GS06
    set_control: str  # ST02
    sender: str  # ISA06, trimmed
    receiver: str  # ISA08, trimmed


@dataclass
class TransactionSet:
    """One 834 transaction set and its policy-level rows (acknowledgement columns still null).

    `set_id` is `{ISA06}-{ISA13}-{GS06}-{ST02}-{digest}`: the same set re-sent in another file has
    the same id; a different set that reuses the same control numbers has another digest.
    """

    key: SetKey
    set_id: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Ack:
    """One AK2 loop of a 999 that acknowledges an 834 transaction set."""

    group_control: str  # AK102: the acknowledged group's GS06
    set_control: str  # AK202: the acknowledged set's ST02
    sender: str  # the 999's ISA06, trimmed (the 834's receiver)
    receiver: str  # the 999's ISA08, trimmed (the 834's sender)
    ack_code: str  # A, E or R
    ack_at: datetime  # naive UTC
    error_code: str | None


@dataclass
class X12Result:
    """What one file gave: kind ("834", "999", "834+999", or "rejected"), rows, acks, findings, and
    warnings (what is kept but looks wrong, e.g. a TOT RES AMT that is not the premium less the APTC)."""

    file: str
    sets: list[TransactionSet] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    kinds: tuple[str, ...] = ()
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def kind(self) -> str:
        return "+".join(self.kinds) if self.ok and self.kinds else "rejected"

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row for s in self.sets for row in s.rows]


class _Unmappable(Exception):
    """A validated file that cannot be mapped; carries the finding's place."""

    def __init__(self, seg: _Seg | None, element: str | None, message: str) -> None:
        super().__init__(message)
        self.seg = seg
        self.element = element
        self.message = message


@dataclass(frozen=True)
class _Seg:
    """A segment as pyx12 read it, with its place in the implementation guide's map."""

    number: int  # position in the file (pyx12's "line")
    seg_id: str
    path: str  # map path, e.g. /ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000/2300/DTP
    data: pyx12.segment.Segment
    node: Any  # pyx12 map node (segment_if)

    @property
    def loop(self) -> str:
        """The innermost loop id of the map path (e.g. '2000', '2100A', '2750', 'HEADER')."""
        parts = self.path.split("/")
        return parts[-2] if len(parts) >= 2 else ""

    def value(self, ref: str) -> str | None:
        """The element's value, stripped; None when absent or empty."""
        try:
            text = self.data.get_value(ref)
        except (pyx12.errors.EngineError, IndexError):
            return None
        if text is None:
            return None
        text = text.strip()
        return text or None


# ---------------------------------------------------------------------------------------------
# Validation


class _LogCapture(logging.Handler):
    """Collects pyx12's ERROR log records (it logs every finding) during one validation."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _pyx12_log() -> Iterator[_LogCapture]:
    """Route pyx12's log to a capture for the duration: nothing reaches the user's terminal."""
    logger = logging.getLogger("pyx12")
    capture = _LogCapture()
    propagate = logger.propagate
    logger.addHandler(capture)
    logger.propagate = False
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    return data.decode("utf-8-sig")


def validate(text: str, name: str) -> tuple[list[Finding], list[_Seg]]:
    """Validate X12 text with pyx12; return the findings and the segments with their map places.

    Findings come from pyx12's error tree (its JSON error report: interchange, group, set,
    segment and element errors), from the envelope segments' own element checks (pyx12 keeps
    those outside the report), and from errors pyx12 only logs because it could not attach them
    to a segment (e.g. a leading space before GS).
    """
    segs: list[_Seg] = []
    if not text.strip():
        return [Finding(name, None, None, None, "the file is empty")], segs
    try:  # pyx12's own first check, for its message (x12n_document only logs it)
        pyx12.x12file.X12Reader(io.StringIO(text)).close()
    except pyx12.errors.X12Error as exc:
        return [Finding(name, 1, None, None, f"not an X12 interchange: {exc}")], segs

    def collect(seg: pyx12.segment.Segment, src: Any, node: Any, valid: bool) -> None:
        segs.append(_Seg(src.get_cur_line(), seg.get_seg_id() or "", node.get_path(), seg, node))

    report = io.StringIO()
    findings: list[Finding] = []
    with _pyx12_log() as log:
        try:
            valid = pyx12.x12n_document.x12n_document(
                _PARAMS, io.StringIO(text), None, None, None, report, callback=collect
            )
        except Exception as exc:  # noqa: BLE001 - whatever stops the validator, the file cannot be accepted
            # the callback runs after each segment, so the segment that stopped pyx12 is the next one
            number = segs[-1].number + 1 if segs else 1
            if isinstance(exc, pyx12.errors.EngineError) and str(exc).startswith("Map not found"):
                return [
                    Finding(name, number, "GS", None, f"no implementation guide for this functional group ({exc})")
                ], segs
            detail = str(exc) if isinstance(exc, pyx12.errors.X12Error) else f"{type(exc).__name__}: {exc}"
            return [Finding(name, number, None, None, f"pyx12 cannot validate the file: {detail}")], segs
    if any(r.getMessage() == "callback failed" for r in log.records):
        raise RuntimeError("collecting the segments of an X12 file failed")  # a defect here, not in the file
    by_number = {s.number: s for s in segs}
    if report.getvalue():
        findings += _report_findings(json.loads(report.getvalue()), name, by_number)
    for seg in segs:
        if seg.seg_id in _ENVELOPE and hasattr(seg.node, "is_valid_errors"):
            findings += _envelope_findings(seg, name)
    for record in log.records:
        message = record.getMessage()
        if message.startswith("No current segment in error_handler."):
            found = _LOG_LINE.search(message)
            number = int(found.group(1)) if found else None
            seg = by_number.get(number) if number is not None else None
            findings.append(
                Finding(name, number, seg.seg_id if seg else None, None, found.group(2) if found else message)
            )
    if not valid and not findings:
        logged = "; ".join(r.getMessage() for r in log.records) or "no detail given"
        findings.append(Finding(name, None, None, None, f"pyx12 reports the file invalid ({logged})"))
    findings.sort(key=lambda f: f.segment_number or 0)
    return findings, segs


def _report_findings(doc: dict[str, Any], name: str, by_number: dict[int, _Seg]) -> list[Finding]:
    """Flatten pyx12's JSON error report (errh_json_visitor) into findings."""
    found: list[Finding] = []

    def envelope(node: dict[str, Any]) -> None:
        seg = by_number.get(node.get("cur_line"))
        for err in node.get("errors", []):
            found.append(Finding(name, node.get("cur_line"), seg.seg_id if seg else None, None, err["err_str"]))

    for isa in doc.get("interchanges", []):
        envelope(isa)
        for gs in isa.get("groups", []):
            envelope(gs)
            for st in gs.get("transactions", []):
                envelope(st)
                for seg in st.get("segments", []):
                    for err in seg.get("errors", []):
                        found.append(Finding(name, seg.get("cur_line"), seg.get("seg_id"), None, err["err_str"]))
                    for ele in seg.get("elements", []):
                        ref = f"{seg.get('seg_id')}{int(ele['ele_pos']):02d}"
                        if ele.get("subele_pos"):
                            ref += f"-{int(ele['subele_pos']):02d}"
                        for err in ele.get("errors", []):
                            found.append(Finding(name, seg.get("cur_line"), seg.get("seg_id"), ref, err["err_str"]))
    return found


def _envelope_findings(seg: _Seg, name: str) -> list[Finding]:
    """Element errors of ISA/GS/ST/SE/GE/IEA, from the same pure check pyx12 runs on them."""
    _, errors = seg.node.is_valid_errors(seg.data)
    found = []
    for err in errors:
        ref = err.refdes
        if ref and not ref.startswith(seg.seg_id):
            ref = seg.seg_id + ref
        found.append(Finding(name, seg.number, seg.seg_id, ref, err.err_str))
    return found


# ---------------------------------------------------------------------------------------------
# Mapping


def read_x12(data: bytes | str, name: str, exchange_id: str = DEFAULT_EXCHANGE_ID) -> X12Result:
    """Validate and map one file. `name` is only used in findings; `exchange_id` decides direction."""
    result = X12Result(name)
    try:
        text = _decode(data)
    except UnicodeDecodeError as exc:
        result.findings.append(
            Finding(name, None, None, None, f"not a text file (byte {exc.start} is not UTF-8/ASCII)")
        )
        return result
    findings, segs = validate(text, name)
    if findings:
        result.findings = findings
        return result
    try:
        _map(segs, result, exchange_id.strip())
    except _Unmappable as exc:
        result.sets, result.acks, result.kinds, result.warnings = [], [], (), []
        result.findings = [
            Finding(
                name, exc.seg.number if exc.seg else None, exc.seg.seg_id if exc.seg else None, exc.element, exc.message
            )
        ]
    return result


@dataclass
class _Envelope:
    isa: _Seg | None = None
    gs: _Seg | None = None
    kind: str | None = None

    def isa_id(self, ref: str) -> str:
        assert self.isa is not None
        return self.isa.value(ref) or ""


def _map(segs: list[_Seg], result: X12Result, exchange_id: str) -> None:
    env = _Envelope()
    kinds: list[str] = []
    current: list[_Seg] = []  # segments of the open transaction set
    for seg in segs:
        if seg.seg_id == "ISA":
            env.isa, env.gs, env.kind = seg, None, None
        elif seg.seg_id == "GS":
            env.gs = seg
            env.kind = _GROUPS.get((seg.value("GS01") or "", seg.value("GS08") or ""))
            if env.kind is None:
                raise _Unmappable(
                    seg,
                    "GS08",
                    f"only 005010X220A1 834 and 005010X231A1 999 groups are ingested; this "
                    f"group is GS01={seg.value('GS01')}, GS08={seg.value('GS08')}",
                )
            if env.kind not in kinds:
                kinds.append(env.kind)
        elif seg.seg_id == "ST":
            if seg.value("ST01") != env.kind:
                raise _Unmappable(seg, "ST01", f"a {env.kind} group holds a {seg.value('ST01')} transaction set")
            current = [seg]
        elif seg.seg_id == "SE":
            current.append(seg)
            if env.kind == KIND_834:
                result.sets.append(_map_834(current, env, exchange_id, result))
            else:
                result.acks.extend(_map_999(current, env))
            current = []
        elif seg.seg_id not in ("GE", "IEA"):
            current.append(seg)
    if not kinds:
        raise _Unmappable(segs[0] if segs else None, None, "the file holds no functional group (GS) to ingest")
    result.kinds = tuple(kinds)


def _parse_d8(seg: _Seg, ref: str) -> date:
    text = seg.value(ref) or ""
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise _Unmappable(seg, ref, f"{text!r} is not a CCYYMMDD date") from None


def _group_time(gs: _Seg, zone: tzinfo) -> datetime:
    """GS04 (CCYYMMDD) + GS05 (HHMM, HHMMSS, HHMMSSD or HHMMSSDD) read in `zone`, as naive UTC."""
    day = _parse_d8(gs, "GS04")
    clock = gs.value("GS05") or ""
    match = re.fullmatch(r"(\d\d)(\d\d)(?:(\d\d)(\d{1,2})?)?", clock)
    if not match:
        raise _Unmappable(gs, "GS05", f"{clock!r} is not a time (HHMM, HHMMSS, HHMMSSD or HHMMSSDD)")
    hour, minute, second, fraction = match.groups()
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    try:
        local = datetime(day.year, day.month, day.day, int(hour), int(minute), int(second or 0), micro, tzinfo=zone)
    except ValueError as exc:
        raise _Unmappable(gs, "GS05", f"{clock!r} is not a valid time ({exc})") from None
    return local.astimezone(UTC).replace(tzinfo=None)


def _zone(bgn: _Seg | None) -> tzinfo:
    code = bgn.value("BGN05") if bgn else None
    if code is None:
        return UTC
    if code not in _ZONES:
        raise _Unmappable(
            bgn,
            "BGN05",
            f"time code {code!r} cannot be converted to UTC (understood: {', '.join(sorted(_ZONES))}, or none for UTC)",
        )
    return _ZONES[code]


def _money(seg: _Seg, category: str) -> Decimal:
    text = seg.value("REF02") or ""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or abs(amount) > _MAX_MONEY:
        raise _Unmappable(seg, "REF02", f"{category} {text!r} is not an amount in dollars and cents")
    return amount.quantize(Decimal("0.01"))


@dataclass
class _Member:
    """One 2000 loop (INS) and what the mapping needs from it."""

    number: int  # 1-based position of the loop in the set
    ins: _Seg
    ref_0f: str | None = None
    member_1l: str | None = None  # 2000 REF*1L
    coverage_1l: str | None = None  # first 2300 REF*1L
    birth: _Seg | None = None  # 2100A DMG
    coverage: _Seg | None = None  # first 2300 DTP*348
    plan: _Seg | None = None  # first 2300 REF*CE
    categories: dict[str, _Seg] = field(default_factory=dict)  # 2750 category name -> its first REF

    @property
    def is_subscriber(self) -> bool:
        return self.ins.value("INS01") == "Y"

    @property
    def ref_1l(self) -> str | None:
        """The exchange's policy id on this loop: its 2300 REF*1L, else its 2000 REF*1L."""
        return self.coverage_1l or self.member_1l


def category_name(text: str | None) -> str:
    """A reporting category's name (N102) as compared: upper case, runs of spaces as one."""
    return " ".join((text or "").upper().split())


def _members(segs: list[_Seg]) -> list[_Member]:
    members: list[_Member] = []
    category: str | None = None  # the open 2750 loop's N102
    for seg in segs:
        loop = seg.loop
        if seg.seg_id == "INS" and loop == "2000":
            members.append(_Member(len(members) + 1, seg))
            category = None
            continue
        if not members:
            continue
        member = members[-1]
        qualifier = seg.value(f"{seg.seg_id}01")
        if loop == "2000" and seg.seg_id == "REF":
            if qualifier == "0F" and member.ref_0f is None:
                member.ref_0f = seg.value("REF02")
            elif qualifier == "1L" and member.member_1l is None:
                member.member_1l = seg.value("REF02")
        elif loop == "2100A" and seg.seg_id == "DMG" and member.birth is None:
            member.birth = seg
        elif loop == "2300" and seg.seg_id == "DTP" and qualifier == "348" and member.coverage is None:
            member.coverage = seg
        elif loop == "2300" and seg.seg_id == "REF":
            if qualifier == "CE" and member.plan is None:
                member.plan = seg
            elif qualifier == "1L" and member.coverage_1l is None:
                member.coverage_1l = seg.value("REF02")
        elif seg.seg_id == "LX" and loop == "2700":
            category = None
        elif loop == "2750" and seg.seg_id == "N1":
            category = category_name(seg.value("N102")) if qualifier == "75" else None
        elif loop == "2750" and seg.seg_id == "REF" and category:
            # the qualifier differs by category (9X, 9V, 17, ...): the value is REF02 whatever it is
            member.categories.setdefault(category, seg)
    return members


def policy_groups(members: list[_Member]) -> dict[str, list[_Member]]:
    """The INS loops of one set grouped by policy id, in order of first appearance.

    Policy id: the loop's REF*1L (2300, else 2000); else, for a loop without one, the REF*1L of the subscriber loop
    (INS01 = Y) of the same set that carries the same REF*0F (the preceding one, else any), since
    on a dependent's loop REF*0F is the subscriber's id; else the REF*0F itself; else "loop{n}".
    """
    preceding: dict[str, str] = {}
    anywhere: dict[str, str] = {}
    for m in members:
        if m.is_subscriber and m.ref_0f and m.ref_1l:
            anywhere.setdefault(m.ref_0f, m.ref_1l)
    groups: dict[str, list[_Member]] = {}
    for m in members:
        if m.is_subscriber and m.ref_0f and m.ref_1l:
            preceding[m.ref_0f] = m.ref_1l
        if m.ref_1l:
            policy = m.ref_1l
        elif m.ref_0f:
            policy = preceding.get(m.ref_0f) or anywhere.get(m.ref_0f) or m.ref_0f
        else:
            policy = f"loop{m.number}"
        groups.setdefault(policy, []).append(m)
    return groups


def _set_digest(segs: list[_Seg]) -> str:
    """8 hex digits of the set's content (ST..SE, separators normalised): tells apart different sets that
    reuse the same control numbers, and gives a re-sent identical set the same transaction ids."""
    text = "".join(s.data.format("~", "*", ":") for s in segs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _category(members: list[_Member], lead: _Member, name: str) -> _Seg | None:
    """The REF of reporting category `name`: the lead loop's, else the first loop's of the policy that has one."""
    if name in lead.categories:
        return lead.categories[name]
    return next((m.categories[name] for m in members if name in m.categories), None)


def _map_834(segs: list[_Seg], env: _Envelope, exchange_id: str, result: X12Result) -> TransactionSet:
    assert env.isa is not None and env.gs is not None
    st = segs[0]
    sender, receiver = env.isa_id("ISA06"), env.isa_id("ISA08")
    key = SetKey(env.gs.value("GS06") or "", st.value("ST02") or "", sender, receiver)
    direction = "inbound" if receiver == exchange_id and sender != exchange_id else "outbound"
    envelope_issuer = sender if direction == "inbound" else receiver
    bgn = next((s for s in segs if s.seg_id == "BGN"), None)
    sent_at = _group_time(env.gs, _zone(bgn))
    prefix = f"{sender}-{env.isa_id('ISA13')}-{key.group_control}-{key.set_control}"
    digest = _set_digest(segs)
    rows = []
    for policy, members in policy_groups(_members(segs)).items():
        lead = next((m for m in members if m.is_subscriber), members[0])
        plan_id = None
        if lead.plan is not None:
            plan_id = (lead.plan.value("REF02") or "").replace("-", "")
            if len(plan_id) != PLAN_ID_LENGTH:
                raise _Unmappable(
                    lead.plan,
                    "REF02",
                    f"plan id {lead.plan.value('REF02')!r} is not {PLAN_ID_LENGTH} characters once hyphens are removed",
                )
        issuer_id = plan_id[:5] if plan_id else envelope_issuer
        if not issuer_id:
            raise _Unmappable(
                env.isa,
                "ISA08" if direction == "outbound" else "ISA06",
                "no issuer id: no plan id (REF*CE) and an empty interchange id",
            )
        enrollment_id = policy if any(m.ref_1l == policy for m in members) else None
        refs = {name: _category(members, lead, name) for name in _MONEY_CATEGORIES}
        amounts = {name: _money(ref, name) if ref is not None else None for name, ref in refs.items()}
        responsible, responsible_ref = amounts[RESPONSIBLE_TOTAL], refs[RESPONSIBLE_TOTAL]
        if responsible is not None and responsible_ref is not None and amounts[PREMIUM_TOTAL] is not None:
            aptc = amounts[APTC] or Decimal("0.00")
            expected = amounts[PREMIUM_TOTAL] - aptc
            if responsible != expected:
                result.warnings.append(
                    Finding(
                        result.file,
                        responsible_ref.number,
                        responsible_ref.seg_id,
                        "REF02",
                        f"policy {policy}: {RESPONSIBLE_TOTAL} {responsible} is not {PREMIUM_TOTAL} "
                        f"{amounts[PREMIUM_TOTAL]} - {APTC} {aptc} = {expected}; the row is kept",
                    )
                )
        rows.append(
            {
                "transaction_id": f"{prefix}-{policy}-{digest}",
                "direction": direction,
                "enrollment_id": enrollment_id,
                "issuer_id": issuer_id,
                "maintenance_type": lead.ins.value("INS03"),
                "maintenance_reason": lead.ins.value("INS04"),
                "sent_at": sent_at,
                "ack_code": None,
                "ack_at": None,
                "error_code": None,
                "plan_id": plan_id,
                "coverage_start_date": _coverage(lead.coverage),
                "total_premium": amounts[PREMIUM_TOTAL],
                "aptc_amount": amounts[APTC],
                "member_count": len(members),
                "subscriber_birth_date": _parse_d8(lead.birth, "DMG02")
                if lead.birth and lead.birth.value("DMG02")
                else None,
            }
        )
    return TransactionSet(key, f"{prefix}-{digest}", rows)


def _coverage(dtp: _Seg | None) -> date | None:
    if dtp is None:
        return None
    if dtp.value("DTP02") != "D8":
        raise _Unmappable(dtp, "DTP02", f"coverage start date format {dtp.value('DTP02')!r} is not D8")
    return _parse_d8(dtp, "DTP03")


def _map_999(segs: list[_Seg], env: _Envelope) -> list[Ack]:
    """One Ack per AK2 loop acknowledging an 834 (other set types are not kept)."""
    assert env.isa is not None and env.gs is not None
    ack_at = _group_time(env.gs, UTC)  # a 999 has no BGN: its group time is read as UTC
    sender, receiver = env.isa_id("ISA06"), env.isa_id("ISA08")
    group_control = None
    acks: list[Ack] = []
    loop: dict[str, Any] | None = None

    def close() -> None:
        if loop is None or loop["set_id"] != "834":
            return
        if loop["ik5"] is None:
            raise _Unmappable(loop["ak2"], None, "AK2 loop without IK5")
        code = loop["ik5"].value("IK501") or ""
        if code not in _ACK_CODES:
            raise _Unmappable(loop["ik5"], "IK501", f"unknown acknowledgement code {code!r}")
        error = (
            loop["ik5"].value("IK502")
            or (loop["ik3"].value("IK304") if loop["ik3"] else None)
            or (loop["ik4"].value("IK403") if loop["ik4"] else None)
        )
        acks.append(
            Ack(
                group_control or "", loop["ak2"].value("AK202") or "", sender, receiver, _ACK_CODES[code], ack_at, error
            )
        )

    for seg in segs:
        if seg.seg_id == "AK1":
            group_control = seg.value("AK102")
        elif seg.seg_id == "AK2":
            close()
            loop = {"ak2": seg, "set_id": seg.value("AK201"), "ik5": None, "ik3": None, "ik4": None}
        elif loop is not None and seg.seg_id in ("IK3", "IK4"):
            loop[seg.seg_id.lower()] = loop[seg.seg_id.lower()] or seg  # the first of each
        elif loop is not None and seg.seg_id == "IK5":
            loop["ik5"] = seg
        elif seg.seg_id in ("AK9", "SE"):
            close()
            loop = None
    return acks
