"""`ingest-x12`: X12 834 and 999 files into an export's transactions_834 table.

State lives in EXPORT/_x12/ (the dashboard skips names starting with `_`): one JSON file per
ingested input, named by the sha256 of its bytes, holding the rows (834) or acknowledgements
(999) read from it. Every run rebuilds EXPORT/transactions_834/x12-834.parquet from the whole
state, with each 999 applied to the 834 transaction set it acknowledges, whichever run brought
either. Every file is written atomically: a temporary name starting with `.`, then os.replace.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract as c
from . import read

STATE_DIR = "_x12"
TABLE_DIR = "transactions_834"
TABLE_FILE = "x12-834.parquet"
STATE_VERSION = 1

SCHEMA = c.arrow_schema(c.TRANSACTIONS_834)
# the columns the state's JSON holds as text (ISO dates and times, decimal strings): see _decode_row
_DATES = tuple(col.name for col in c.TRANSACTIONS_834.columns if col.kind == c.DATE)
_TIMES = tuple(col.name for col in c.TRANSACTIONS_834.columns if col.kind == c.TIMESTAMP)
_MONEY = tuple(col.name for col in c.TRANSACTIONS_834.columns if col.kind == c.MONEY)


class IngestError(Exception):
    """The arguments or the existing state cannot be used; the message says what."""


@dataclass
class FileOutcome:
    """What happened to one input file."""

    path: Path
    sha256: str
    status: str  # "ingested", "remapped", "already" (same content seen before) or "rejected"
    kind: str = ""
    rows: int = 0
    acks: int = 0
    acks_applied: int = 0  # acks of this file that match an ingested 834 set
    findings: list[read.Finding] = field(default_factory=list)
    same_as: str | None = None  # for "already": the file that brought this content first

    def summary(self) -> str:
        """One line for the user."""
        if self.status == "rejected":
            return f"{self.path}: rejected ({len(self.findings)} finding(s))"
        if self.status == "already":
            same = "" if self.same_as == str(self.path) else f" (same content as {self.same_as})"
            return f"{self.path}: already ingested{same}, nothing new"
        parts = []
        if read.KIND_834 in self.kind.split("+"):
            parts.append(f"{self.rows} row(s)")
        if read.KIND_999 in self.kind.split("+"):
            waiting = self.acks - self.acks_applied
            parts.append(f"{self.acks} ack(s)" + (f", {waiting} waiting for their 834" if waiting else ""))
        verb = "re-mapped for the new exchange id" if self.status == "remapped" else "ingested"
        return f"{self.path}: {verb}, {self.kind}: {', '.join(parts)}"


@dataclass
class RunSummary:
    files: list[FileOutcome]
    table: Path | None = None  # the rebuilt parquet file; None when the state is empty
    table_rows: int = 0
    acknowledged_rows: int = 0
    waiting_acks: int = 0  # acks in the state that match no ingested 834 set yet

    @property
    def rejected(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "rejected"]


# ---------------------------------------------------------------------------------------------
# Inputs


def input_files(paths: Sequence[Path], out: Path) -> list[Path]:
    """The files to read: each file named, and every regular file under each directory named
    (recursively, in name order), skipping names starting with `.` or `_` and the export itself."""
    out_resolved = out.resolve()
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if not d.startswith((".", "_")) and (Path(root) / d).resolve() != out_resolved
                )
                files += [
                    Path(root) / n for n in sorted(names) if not n.startswith((".", "_")) and (Path(root) / n).is_file()
                ]
        elif path.exists():
            raise IngestError(f"{path} is neither a regular file nor a directory")
        else:
            raise IngestError(f"{path}: no such file or directory")
    return files


# ---------------------------------------------------------------------------------------------
# State


def _encode(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in _DATES:
        out[name] = date.fromisoformat(row[name]) if row.get(name) else None
    for name in _TIMES:
        out[name] = datetime.fromisoformat(row[name]) if row.get(name) else None
    for name in _MONEY:
        out[name] = Decimal(row[name]) if row.get(name) is not None else None
    return out


def _state_doc(result: read.X12Result, source: Path, sha: str, exchange_id: str, ingested_at: str) -> dict:
    return {
        "version": STATE_VERSION,
        "sha256": sha,
        "source": str(source),
        "ingested_at": ingested_at,
        "exchange_id": exchange_id,
        "kind": result.kind,
        "sets": [
            {
                "set_id": s.set_id,
                "group": s.key.group_control,
                "set": s.key.set_control,
                "sender": s.key.sender,
                "receiver": s.key.receiver,
                "rows": [{k: _encode(v) for k, v in row.items()} for row in s.rows],
            }
            for s in result.sets
        ],
        "acks": [
            {
                "group": a.group_control,
                "set": a.set_control,
                "sender": a.sender,
                "receiver": a.receiver,
                "ack_code": a.ack_code,
                "ack_at": a.ack_at.isoformat(),
                "error_code": a.error_code,
            }
            for a in result.acks
        ],
    }


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """write(tmp) to a temporary name starting with `.` (skipped by readers), then rename it to path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_state(out: Path) -> list[dict[str, Any]]:
    """Every state document of the export, in ingestion order."""
    folder = out / STATE_DIR
    if not folder.is_dir():
        return []
    docs = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith((".", "_")):
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IngestError(
                f"the ingest state file {path} cannot be read ({exc}); remove it and ingest its source file again"
            ) from None
        if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
            raise IngestError(
                f"the ingest state file {path} is not of version {STATE_VERSION}; remove it and "
                "ingest its source file again"
            )
        docs.append(doc)
    docs.sort(key=lambda d: (d["ingested_at"], d["sha256"]))
    return docs


# ---------------------------------------------------------------------------------------------
# Run


def ingest(paths: Sequence[Path], out: Path, exchange_id: str = read.DEFAULT_EXCHANGE_ID) -> RunSummary:
    """Read every input file into the state of export `out`, then rebuild its x12-834.parquet.

    Rejected files leave nothing behind. A file whose content is already in the state is not read
    again, unless its 834 rows were mapped with another exchange id: then it is mapped again.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise IngestError(f"--out {out} is not a directory")
    files = input_files(paths, out)
    if not files:
        raise IngestError("no files to ingest in " + ", ".join(str(p) for p in paths))
    state = out / STATE_DIR
    known = {d["sha256"]: d for d in load_state(out)}
    seen: dict[str, Path] = {}
    outcomes: list[FileOutcome] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            outcomes.append(
                FileOutcome(
                    path,
                    "",
                    "rejected",
                    findings=[read.Finding(str(path), None, None, None, f"cannot be read ({exc.strerror or exc})")],
                )
            )
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in seen:
            outcomes.append(FileOutcome(path, sha, "already", same_as=str(seen[sha])))
            continue
        previous = known.get(sha)
        remap = (
            previous is not None
            and previous["exchange_id"] != exchange_id
            and read.KIND_834 in previous["kind"].split("+")
        )
        if previous is not None and not remap:
            seen[sha] = path
            outcomes.append(FileOutcome(path, sha, "already", same_as=previous["source"]))
            continue
        result = read.read_x12(data, str(path), exchange_id)
        if not result.ok:
            outcomes.append(FileOutcome(path, sha, "rejected", findings=result.findings))
            continue
        seen[sha] = path
        ingested_at = previous["ingested_at"] if previous else datetime.now(UTC).isoformat()
        doc = _state_doc(result, path, sha, exchange_id, ingested_at)
        text = json.dumps(doc, indent=1)
        _write_atomic(state / f"{sha}.json", lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
        known[sha] = doc
        outcomes.append(
            FileOutcome(
                path,
                sha,
                "remapped" if remap else "ingested",
                result.kind,
                rows=len(result.rows),
                acks=len(result.acks),
            )
        )
    summary = RunSummary(outcomes)
    rebuild(out, summary)
    return summary


def _candidates(ack: dict[str, Any], sets: dict[tuple[str, str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The 834 sets a 999 AK2 acknowledges: by (group, set) control numbers; when several sets share
    them, those whose receiver sent the 999 and whose sender received it (none if no set fits)."""
    found = sets.get((ack["group"], ack["set"]), [])
    if len(found) > 1:
        found = [s for s in found if s["receiver"] == ack["sender"] and s["sender"] == ack["receiver"]]
    return found


def rebuild(out: Path, summary: RunSummary | None = None) -> RunSummary:
    """Write EXPORT/transactions_834/x12-834.parquet from the whole state (nothing when it is empty)."""
    summary = summary or RunSummary([])
    docs = load_state(out)
    if not docs:
        return summary
    rows: dict[str, dict[str, Any]] = {}
    sets: dict[tuple[str, str], list[dict[str, Any]]] = {}
    set_ids: set[str] = set()
    for doc in docs:
        for s in doc["sets"]:
            if s["set_id"] in set_ids:  # the same set from another file: first one kept
                continue
            set_ids.add(s["set_id"])
            s["decoded"] = [_decode_row(r) for r in s["rows"] if r["transaction_id"] not in rows]
            for row in s["decoded"]:
                rows[row["transaction_id"]] = row
            sets.setdefault((s["group"], s["set"]), []).append(s)
    acks = [(a, i, doc["sha256"]) for i, doc in enumerate(docs) for a in doc["acks"]]
    acks.sort(key=lambda item: (item[0]["ack_at"], item[1]))  # the latest acknowledgement wins
    applied: dict[str, int] = {}
    for ack, _, sha in acks:
        targets = _candidates(ack, sets)
        if not targets:
            summary.waiting_acks += 1
            continue
        applied[sha] = applied.get(sha, 0) + 1
        for s in targets:
            for row in s["decoded"]:
                row.update(
                    ack_code=ack["ack_code"], ack_at=datetime.fromisoformat(ack["ack_at"]), error_code=ack["error_code"]
                )
    for outcome in summary.files:
        outcome.acks_applied = applied.get(outcome.sha256, 0)
    ordered = sorted(rows.values(), key=lambda r: (r["sent_at"], r["transaction_id"]))
    table = pa.Table.from_pylist([{name: r[name] for name in SCHEMA.names} for r in ordered], schema=SCHEMA)
    summary.table = out / TABLE_DIR / TABLE_FILE
    _write_atomic(summary.table, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    summary.table_rows = table.num_rows
    summary.acknowledged_rows = sum(1 for r in ordered if r["ack_code"] is not None)
    return summary


def format_findings(findings: Iterable[read.Finding]) -> list[str]:
    return [f"  {finding}" for finding in findings]
