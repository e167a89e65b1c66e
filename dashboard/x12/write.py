"""Writes 834 rows as X12 005010X220A1 834 files and their 999 acknowledgements (demo data).

The demo generator uses it so that the same export can arrive as parquet or as X12: one
interchange per (direction, issuer), one functional group per 834 row (GS04/GS05 carry its
`sent_at`, read in the zone of BGN05), one INS loop per member, in the layout of the
federally-facilitated marketplace's 834 companion guide: loop 2000 carries the subscriber id
(`REF*0F`) and the member id (`REF*17`); each member's 2300 loop carries the plan (`REF*CE`) and
the exchange's policy id (`REF*1L`); the 2750 reporting categories carry each member's premium
(`PRE AMT 1`, `REF*9X`) and, on the subscriber, `PRE AMT TOT` (`REF*9X`), `APTC AMT` and
`TOT RES AMT` (`REF*9V`, the premium less the APTC, so reading it back never warns) and the
`RATING AREA` (`REF*9X`). One 999 group per acknowledged 834 (its GS04/GS05, in UTC, is the
acknowledgement's time). `x12_representable` says what a row must look like to survive the trip."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..defaults import DEFAULT_EXCHANGE_ID as EXCHANGE_ID  # one exchange id for reader and writer

# codes a 999's IK502 can carry; other demo codes are carried as I5 (one or more segments in error)
IK502_CODES = {"I5", "I6"}
_ZONES = {
    "ET": ("America/New_York", "ES", "ED"),
    "CT": ("America/Chicago", "CS", "CD"),
    "PT": ("America/Los_Angeles", "PS", "PD"),
}


@dataclass(frozen=True)
class Envelope:
    """Where one 834 row sits in the X12 files (a 999 names it by group and transaction set)."""

    sender: str
    receiver: str
    interchange: int
    group: int
    transaction_set: int


def x12_representable(row: dict[str, Any]) -> dict[str, Any]:
    """The row as X12 carries it: times to the second, the issuer as the plan id's first five
    characters, an error code only with an acknowledgement, and one a 999 can carry."""
    out = dict(row)
    for key in ("sent_at", "ack_at"):
        if out[key] is not None:
            out[key] = out[key].replace(microsecond=0)
    if out["plan_id"] and out["plan_id"][:5] != out["issuer_id"]:
        # routed to another issuer: X12 names the issuer by the plan, so the plan names it too
        out["plan_id"] = out["issuer_id"] + out["plan_id"][5:]
    if out["ack_code"] is None or out["ack_at"] is None:
        out["ack_code"], out["ack_at"], out["error_code"] = None, None, None
    elif out["ack_code"] == "A":
        out["error_code"] = None
    elif out["error_code"] not in IK502_CODES:
        out["error_code"] = "I5"  # a 999 must say why it rejects or notes errors
    return out


def _segments(text_segments: Iterable[str]) -> str:
    return "~\n".join(text_segments) + "~\n"


def _pad(value: str, width: int) -> str:
    return value[:width].ljust(width)


def _zone(sent_at: datetime, zone: str) -> tuple[datetime, str]:
    """sent_at (naive UTC) as local time in `zone`, and the BGN05 code that reads it back exactly
    (the fixed standard/daylight code in the hour that happens twice when clocks go back)."""
    if zone == "UT":
        return sent_at, "UT"
    name, standard, daylight = _ZONES[zone]
    local = sent_at.replace(tzinfo=UTC).astimezone(ZoneInfo(name))
    code = zone
    again = local.replace(fold=1 - local.fold)
    if again.utcoffset() != local.utcoffset():
        code = daylight if local.dst() else standard
    return local.replace(tzinfo=None), code


def _money(value: Any) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def _members(row: dict[str, Any]) -> int:
    return max(1, int(row["member_count"] or 1))


def _share(total: Any, members: int, member: int) -> Decimal:
    """Member `member`'s part of `total`, in cents: equal parts, the first members taking the odd cents."""
    cents = int(Decimal(_money(total)) * 100)
    part, odd = divmod(cents, members)
    return Decimal(part + (1 if member < odd else 0)) / 100


def _d8(value) -> str:
    return value.strftime("%Y%m%d")


class X12Writer:
    """Accumulates 834 rows into interchanges per (direction, issuer); returns each row's new id."""

    def __init__(self, exchange_id: str = EXCHANGE_ID):
        self.exchange_id = exchange_id
        self._files: dict[tuple[str, str], list[tuple[dict[str, Any], Envelope]]] = {}
        self._next_group: dict[str, int] = {}
        self._interchange = 0

    def add(self, row: dict[str, Any]) -> None:
        """Queue an X12-representable row (see x12_representable)."""
        issuer = row["issuer_id"]
        sender, receiver = (self.exchange_id, issuer) if row["direction"] == "outbound" else (issuer, self.exchange_id)
        key = (sender, receiver)
        if key not in self._files:
            self._interchange += 1
            self._files[key] = []
        group = self._next_group.get(sender, 0) + 1  # unique per sender, so a 999 names one group
        self._next_group[sender] = group
        interchange = self._interchange_of(key)
        envelope = Envelope(sender, receiver, interchange, group, 1)
        self._files[key].append((row, envelope))

    def _interchange_of(self, key: tuple[str, str]) -> int:
        return list(self._files).index(key) + 1

    @staticmethod
    def _subscriber_id(row: dict[str, Any], envelope: Envelope) -> str:
        return f"S{envelope.group:09d}"

    def write(self, out_dir: Path, name: str) -> list[Path]:
        """Write the 834 files and the 999 files; returns their paths."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for (sender, receiver), items in self._files.items():
            interchange = self._interchange_of((sender, receiver))
            path = out_dir / f"{name}-834-{sender}-{receiver}.x12"
            path.write_text(self._interchange_834(sender, receiver, interchange, items))
            written.append(path)
            acked = [(row, env) for row, env in items if row["ack_code"] is not None]
            if acked:
                path = out_dir / f"{name}-999-{receiver}-{sender}.x12"
                path.write_text(self._interchange_999(receiver, sender, interchange, acked))
                written.append(path)
        return written

    # --------------------------------------------------------------------- 834

    def _interchange_834(
        self, sender: str, receiver: str, interchange: int, items: list[tuple[dict[str, Any], Envelope]]
    ) -> str:
        first = items[0][0]["sent_at"]
        segments = [self._isa(sender, receiver, first, interchange)]
        for row, envelope in items:
            segments += self._group_834(row, envelope)
        segments.append(f"IEA*{len(items)}*{interchange:09d}")
        return _segments(segments)

    def _isa(self, sender: str, receiver: str, at: datetime, interchange: int) -> str:
        return (
            f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{_pad(sender, 15)}*ZZ*{_pad(receiver, 15)}*"
            f"{at:%y%m%d}*{at:%H%M}*^*00501*{interchange:09d}*0*P*:"
        )

    def _group_834(self, row: dict[str, Any], env: Envelope) -> list[str]:
        zone = "ET" if row["direction"] == "outbound" else ("CT", "PT", "UT")[env.group % 3]
        local, code = _zone(row["sent_at"], zone)
        st = f"{env.transaction_set:04d}"
        body = [
            f"ST*834*{st}*005010X220A1",
            f"BGN*00*{env.group}*{local:%Y%m%d}*{local:%H%M%S}*{code}***2",
            f"REF*38*{row['issuer_id']}",
            f"N1*P5*HEALTH INSURANCE MARKETPLACE*FI*{_tax_id(self.exchange_id)}",
            f"N1*IN*ISSUER {row['issuer_id']}*FI*{_tax_id(row['issuer_id'])}",
        ]
        subscriber = self._subscriber_id(row, env)
        for member in range(_members(row)):
            body += self._member(row, subscriber, member)
        body.append(f"SE*{len(body) + 1}*{st}")
        return [
            f"GS*BE*{env.sender}*{env.receiver}*{local:%Y%m%d}*{local:%H%M%S}*{env.group}*X*005010X220A1",
            *body,
            f"GE*1*{env.group}",
        ]

    def _member(self, row: dict[str, Any], subscriber: str, member: int) -> list[str]:
        is_subscriber = member == 0
        reason = row["maintenance_reason"] or ""
        out = [
            f"INS*{'Y' if is_subscriber else 'N'}*{'18' if is_subscriber else '19'}*"
            f"{row['maintenance_type']}*{reason}*A",
            f"REF*0F*{subscriber}",
            f"REF*17*{subscriber}{member + 1:02d}",
            f"NM1*IL*1*MEMBER{member}*{'SUBSCRIBER' if is_subscriber else 'DEPENDENT'}",
        ]
        if is_subscriber:
            out += ["N3*1 MAIN STREET", "N4*ANYTOWN*NC*27601"]
        birth = row["subscriber_birth_date"] if is_subscriber else None
        if birth is not None:
            out.append(f"DMG*D8*{_d8(birth)}*U")
        out.append(f"HD*{row['maintenance_type']}**HLT")
        if row["coverage_start_date"] is not None:
            out.append(f"DTP*348*D8*{_d8(row['coverage_start_date'])}")
        if row["plan_id"]:
            out.append(f"REF*CE*{row['plan_id']}")
        if row["enrollment_id"]:
            out.append(f"REF*1L*{row['enrollment_id']}")
        categories = []  # (name, REF qualifier, value)
        premium, aptc = row["total_premium"], row["aptc_amount"]
        if premium is not None:
            categories.append(("PRE AMT 1", "9X", _money(_share(premium, _members(row), member))))
        if is_subscriber:
            if premium is not None:
                categories.append(("PRE AMT TOT", "9X", _money(premium)))
            if aptc is not None:
                categories.append(("APTC AMT", "9V", _money(aptc)))
            if premium is not None:
                owed = Decimal(_money(premium)) - Decimal(_money(aptc if aptc is not None else 0))
                categories.append(("TOT RES AMT", "9V", _money(owed)))
            if row["plan_id"]:
                categories.append(("RATING AREA", "9X", f"R-{row['plan_id'][5:7]}001"))
        if categories:
            out.append("LS*2700")
            for number, (name, qualifier, value) in enumerate(categories, start=1):
                out += [f"LX*{number}", f"N1*75*{name}", f"REF*{qualifier}*{value}"]
            out.append("LE*2700")
        return out

    # --------------------------------------------------------------------- 999

    def _interchange_999(
        self, sender: str, receiver: str, interchange: int, acked: list[tuple[dict[str, Any], Envelope]]
    ) -> str:
        segments = [self._isa(sender, receiver, acked[0][0]["ack_at"], interchange)]
        for number, (row, env) in enumerate(acked, start=1):
            at = row["ack_at"]  # UTC: a 999 has no BGN05
            code = row["ack_code"]
            ik5 = f"IK5*{code}" + (f"*{row['error_code']}" if code != "A" and row["error_code"] else "")
            accepted = 0 if code == "R" else 1
            body = [
                "ST*999*0001*005010X231A1",
                f"AK1*BE*{env.group}*005010X220A1",
                f"AK2*834*{env.transaction_set:04d}*005010X220A1",
                ik5,
                f"AK9*{code}*1*1*{accepted}",
            ]
            body.append(f"SE*{len(body) + 1}*0001")
            segments += [
                f"GS*FA*{sender}*{receiver}*{at:%Y%m%d}*{at:%H%M%S}*{number}*X*005010X231A1",
                *body,
                f"GE*1*{number}",
            ]
        segments.append(f"IEA*{len(acked)}*{interchange:09d}")
        return _segments(segments)


def _tax_id(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    return (digits + "000000000")[:9]
