"""`ingest-x12`: X12 834 and 999 files into an export's transactions_834 table.

State lives in EXPORT/_x12/ (the dashboard skips names starting with `_`): one JSON file per
ingested input, named by the sha256 of its bytes, holding the rows (834) or acknowledgements
(999) read from it. Every run rebuilds EXPORT/transactions_834/x12-834.parquet from the whole
state, with each 999 applied to the 834 transaction set it acknowledges, whichever run brought
either. Every file is written atomically: a temporary name starting with `.`, then os.replace.

A run reads and validates its files first (in parallel worker processes when there are several),
without touching the export; then it takes an exclusive lock on EXPORT/_x12/ingest.lock, reads
the state again, stores what is new and rebuilds the table. Two runs on the same export therefore
never write at the same time, and the one that rebuilds last sees both runs' files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract as c
from ..defaults import X12_STATE_DIR, X12_TABLE_DIR, X12_TABLE_FILE
from . import read

STATE_DIR = X12_STATE_DIR
TABLE_DIR = X12_TABLE_DIR
TABLE_FILE = X12_TABLE_FILE
STATE_VERSION = 1
LOCK_FILE = "ingest.lock"  # in STATE_DIR; load_state reads only *.json
LOCK_TIMEOUT = 300.0  # seconds a run waits for another run on the same export before giving up
# below this many bytes to read, worker processes cost more than they save
PARALLEL_MIN_BYTES = 256 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"

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
    # "ingested", "remapped", "already" (same content seen before), "rejected", or "skipped" (found in a
    # directory, and not X12: no ISA header)
    status: str
    kind: str = ""
    rows: int = 0
    acks: int = 0
    acks_applied: int = 0  # acks of this file that match an ingested 834 set
    findings: list[read.Finding] = field(default_factory=list)
    same_as: str | None = None  # for "already": the file that brought this content first
    warnings: list[read.Finding] = field(default_factory=list)  # kept, but looks wrong

    def summary(self) -> str:
        """One line for the user."""
        if self.status == "rejected":
            return f"{self.path}: rejected ({len(self.findings)} finding(s))"
        if self.status == "skipped":
            return f"{self.path}: skipped, not an X12 file (no ISA header)"
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
        warned = f" ({len(self.warnings)} warning(s))" if self.warnings else ""
        return f"{self.path}: {verb}, {self.kind}: {', '.join(parts)}{warned}"


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

    @property
    def warnings(self) -> list[read.Finding]:
        return [w for f in self.files for w in f.warnings]


# ---------------------------------------------------------------------------------------------
# Inputs


def input_files(paths: Sequence[Path], out: Path) -> list[tuple[Path, bool]]:
    """The files to read, each with whether it was named itself (else found in a directory): each file
    named, and every regular file under each directory named (recursively, in name order), skipping
    names starting with `.` or `_` and the export itself."""
    out_resolved = out.resolve()
    files: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_file():
            files.append((path, True))
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(
                    d for d in dirs if not d.startswith((".", "_")) and (Path(root) / d).resolve() != out_resolved
                )
                files += [
                    (Path(root) / n, False)
                    for n in sorted(names)
                    if not n.startswith((".", "_")) and (Path(root) / n).is_file()
                ]
        elif path.exists():
            raise IngestError(f"{path} is neither a regular file nor a directory")
        else:
            raise IngestError(f"{path}: no such file or directory")
    return files


def looks_like_x12(data: bytes) -> bool:
    """Whether the bytes start (after a byte-order mark and white space) with an ISA segment."""
    return data.removeprefix(_UTF8_BOM).lstrip().startswith(b"ISA")


def _workers(jobs: int | None, count: int) -> int:
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(jobs, count))


def read_files(
    items: Sequence[tuple[str, bytes]], exchange_id: str = read.DEFAULT_EXCHANGE_ID, jobs: int | None = None
) -> list[read.X12Result]:
    """read.read_x12 on each (name, bytes), in order; in `jobs` worker processes (default: one per
    CPU) when there are several files and enough bytes for the workers to pay for themselves."""
    workers = _workers(jobs, len(items))
    if workers == 1 or sum(len(data) for _, data in items) < PARALLEL_MIN_BYTES:
        return [read.read_x12(data, name, exchange_id) for name, data in items]
    results: list[read.X12Result | None] = [None] * len(items)
    with ProcessPoolExecutor(workers) as pool:
        # the largest first, so that no worker is left with a big file at the end
        order = sorted(range(len(items)), key=lambda k: -len(items[k][1]))
        futures = {pool.submit(read.read_x12, items[k][1], items[k][0], exchange_id): k for k in order}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
    return [r for r in results if r is not None]


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


def _try_lock(fd: IO[str]) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            fd.seek(0)
            msvcrt.locking(fd.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:  # BlockingIOError: another process holds it
        return False
    return True


def _unlock(fd: IO[str]) -> None:
    if fcntl is not None:
        fcntl.flock(fd.fileno(), fcntl.LOCK_UN)
    else:
        fd.seek(0)
        msvcrt.locking(fd.fileno(), msvcrt.LK_UNLCK, 1)


def _holder(path: Path) -> str:
    """Who holds the lock, as its holder wrote it into the lock file (it may not have yet)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return f"another ingest-x12 run ({text})" if text else "another ingest-x12 run"


@contextmanager
def state_lock(out: Path, timeout: float = LOCK_TIMEOUT, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the export's ingest lock (EXPORT/_x12/ingest.lock) for the duration: wait for another run
    holding it (saying so once through `notify`) for up to `timeout` seconds, then give up with an
    IngestError naming the folder and the other run. The lock is the operating system's
    (flock), so a run that dies releases it."""
    folder = out / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as fd:  # "a+": the holder's note is not erased before we hold it
        deadline = time.monotonic() + timeout
        said = False
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise IngestError(
                    f"{folder} is in use by {_holder(path)}; waited {timeout:g} s for it. Run again when it "
                    f"has finished (if no other run is going, the lock is stale: remove {path})"
                )
            if not said and notify is not None:
                notify(f"waiting for {_holder(path)} to finish with {folder} (up to {timeout:g} s)")
                said = True
            time.sleep(0.05)
        try:
            fd.seek(0)
            fd.truncate()
            fd.write(
                f"process {os.getpid()} on {socket.gethostname()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
            )
            fd.flush()
            yield
        finally:
            fd.seek(0)
            fd.truncate()
            fd.flush()
            _unlock(fd)


# ---------------------------------------------------------------------------------------------
# Run


def _print_notice(text: str) -> None:
    print(text, file=sys.stderr)


def _is_current(previous: dict[str, Any] | None, exchange_id: str) -> bool:
    """Whether a state document already holds what reading its file with `exchange_id` would give
    (a file whose 834 rows were mapped with another exchange id is mapped again)."""
    return previous is not None and (
        previous["exchange_id"] == exchange_id or read.KIND_834 not in previous["kind"].split("+")
    )


def ingest(
    paths: Sequence[Path],
    out: Path,
    exchange_id: str = read.DEFAULT_EXCHANGE_ID,
    *,
    jobs: int | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    notify: Callable[[str], None] | None = _print_notice,
) -> RunSummary:
    """Read every input file into the state of export `out`, then rebuild its x12-834.parquet.

    Rejected files leave nothing behind. A file found in a directory that is not X12 (no ISA header)
    is skipped. A file whose content is already in the state is not read again, unless its 834 rows
    were mapped with another exchange id: then it is mapped again. `jobs` worker processes read the
    files (default: one per CPU); `notify` gets the warnings (a file kept, but with something that
    looks wrong) and the notice that the run waits for another one on the same export.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise IngestError(f"--out {out} is not a directory")
    inputs = input_files(paths, out)
    if not inputs:
        raise IngestError("no files to ingest in " + ", ".join(str(p) for p in paths))
    outcomes: list[FileOutcome | None] = [None] * len(inputs)
    known = {d["sha256"]: d for d in load_state(out)}  # a first look, without the lock: what needs reading
    to_read: list[tuple[int, Path, str, bytes]] = []
    first_of: dict[str, int] = {}  # sha256 -> index of the first input with that content
    copies: list[tuple[int, int]] = []  # (input, earlier input with the same content, still to be read)
    for i, (path, named) in enumerate(inputs):
        try:
            data = path.read_bytes()
        except OSError as exc:
            finding = read.Finding(str(path), None, None, None, f"cannot be read ({exc.strerror or exc})")
            outcomes[i] = FileOutcome(path, "", "rejected", findings=[finding])
            continue
        if not named and not looks_like_x12(data):
            outcomes[i] = FileOutcome(path, "", "skipped")
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in first_of:
            copies.append((i, first_of[sha]))
            continue
        first_of[sha] = i
        previous = known.get(sha)
        if _is_current(previous, exchange_id):
            assert previous is not None
            outcomes[i] = FileOutcome(path, sha, "already", same_as=previous["source"])
        else:
            to_read.append((i, path, sha, data))
    if all(o is not None and o.status == "skipped" for o in outcomes):
        raise IngestError(
            "no X12 files to ingest in " + ", ".join(str(p) for p in paths) + f" ({len(inputs)} file(s) "
            "without an ISA header skipped)"
        )
    results = read_files([(str(path), data) for _, path, _, data in to_read], exchange_id, jobs)
    accepted: list[tuple[int, Path, str, read.X12Result]] = []
    for (i, path, sha, _), result in zip(to_read, results, strict=True):
        if result.ok:
            accepted.append((i, path, sha, result))
        else:
            outcomes[i] = FileOutcome(path, sha, "rejected", findings=result.findings)
    if accepted or (out / STATE_DIR).is_dir():
        with state_lock(out, lock_timeout, notify):
            known = {d["sha256"]: d for d in load_state(out)}  # again: another run may have stored some since
            for i, path, sha, result in accepted:
                previous = known.get(sha)
                if _is_current(previous, exchange_id):  # stored by another run meanwhile
                    assert previous is not None
                    outcomes[i] = FileOutcome(path, sha, "already", same_as=previous["source"])
                    continue
                ingested_at = previous["ingested_at"] if previous else datetime.now(UTC).isoformat()
                doc = _state_doc(result, path, sha, exchange_id, ingested_at)
                text = json.dumps(doc, indent=1)
                _write_atomic(out / STATE_DIR / f"{sha}.json", lambda tmp, text=text: tmp.write_text(text, "utf-8"))
                known[sha] = doc
                outcomes[i] = FileOutcome(
                    path,
                    sha,
                    "remapped" if previous else "ingested",
                    result.kind,
                    rows=len(result.rows),
                    acks=len(result.acks),
                    warnings=result.warnings,
                )
            _resolve_copies(outcomes, copies, inputs)
            summary = RunSummary([o for o in outcomes if o is not None])
            rebuild(out, summary)
    else:
        _resolve_copies(outcomes, copies, inputs)
        summary = RunSummary([o for o in outcomes if o is not None])
    if notify is not None:
        for warning in summary.warnings:
            notify(f"warning: {warning}")
    return summary


def _resolve_copies(
    outcomes: list[FileOutcome | None], copies: list[tuple[int, int]], inputs: list[tuple[Path, bool]]
) -> None:
    """An input with the same content as an earlier one of the run: already ingested when that one was
    stored (or was already), rejected with its findings when it was rejected."""
    for i, first in copies:
        path, done = inputs[i][0], outcomes[first]
        assert done is not None
        if done.status == "rejected":
            findings = [dataclasses.replace(f, file=str(path)) for f in done.findings]
            outcomes[i] = FileOutcome(path, done.sha256, "rejected", findings=findings)
        else:
            outcomes[i] = FileOutcome(path, done.sha256, "already", same_as=str(inputs[first][0]))


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
