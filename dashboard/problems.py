"""Problems found in an export: one clear sentence naming table, file, column and value."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: str  # ERROR makes the table unusable for metrics; WARNING is shown only
    table: str  # contract table name, or "export" for the directory itself
    message: str  # what is wrong, in words a data engineer can act on
    file: str | None = None  # path as the user would find it
    column: str | None = None
    rows: int | None = None  # how many rows are affected, when that is known
    issuer_id: str | None = None  # when the problem is about one issuer: shown only to callers who see it

    def __str__(self) -> str:
        where = [f"table {self.table}"]
        if self.file:
            where.append(f"file {self.file}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{self.severity.capitalize()} in {', '.join(where)}: {self.message}"

    def located(self, export_dir: Path | str, *, server_path: bool = True) -> Problem:
        """This problem with its file under the export directory as the user gave it (`--data exp` shows
        exp/issuers.csv). Stored problems start at the export folder's name, so that a prepared export can
        be reused whatever path it is opened by. Without `server_path` (a reader outside the marketplace,
        who has no business knowing where the server keeps its files) the file starts at the export
        folder's name: 'exports/issuers.csv', and the export directory itself is its name alone."""
        given = Path(export_dir)
        if not server_path:
            if not self.file or not Path(self.file).is_absolute():
                return self
            try:
                inside = Path(self.file).relative_to(given)
            except ValueError:
                return replace(self, file=Path(self.file).name)
            return replace(self, file=str(Path(given.name, inside)))
        if not self.file or Path(self.file).is_absolute():
            return self
        parts = Path(self.file).parts
        if len(parts) > 1 and parts[0] == given.name:
            return replace(self, file=str(given.joinpath(*parts[1:])))
        return self

    def as_dict(self) -> dict:
        return {
            "severity": self.severity,
            "table": self.table,
            "file": self.file,
            "column": self.column,
            "rows": self.rows,
            "message": self.message,
        }


# what a reader of some issuers only is told instead of a problem's text when the problem is about the
# whole export: its text can quote another issuer's records (an example id, a file of theirs) and its
# row count counts every issuer's rows
WITHHELD = (
    "details not shown: this check covers every issuer's records, and its text can quote another issuer's "
    "values; the marketplace's data team sees it in full"
)


def as_seen_by(problems: list[Problem], issuers: tuple[str, ...] | None) -> list[Problem]:
    """The export's problems as a reader of `issuers` (None: every issuer) may see them. A reader of every
    issuer sees each one whole. A reader of some issuers sees those about their issuers whole, none about
    another issuer, and those about the whole export by where they are (severity, table, file, column) with
    the text replaced by WITHHELD and no row count."""
    if issuers is None:
        return list(problems)
    return [
        p if p.issuer_id is not None else replace(p, message=WITHHELD, rows=None)
        for p in problems
        if p.issuer_id is None or p.issuer_id in issuers
    ]


def first_line(exc: Exception) -> str:
    """The first line of an exception's text (DuckDB and pyarrow add lines of context), or its type."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class ExportError(Exception):
    """Raised when an export cannot be used at all; carries the problems that say why."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(" ".join(str(p) for p in self.problems))
