"""Loads the named SQL queries of `queries/` (one per file, in a folder per area), each with a checked header."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

QUERIES_DIR = Path(__file__).resolve().parents[2] / "queries"

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$")
_PARAMS = re.compile(r"^--\s*params:\s*(.*)$")
_DECLARED = re.compile(r"\$([a-z_][a-z0-9_]*)\s+([a-z][a-z0-9_\[\]]*)")
_USED = re.compile(r"\$([a-z_][a-z0-9_]*)")


class CatalogError(Exception):
    """A query file does not follow the catalogue's rules; names the file and the rule."""


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[str, ...]
    sql: str
    path: Path


def _strip_literals_and_comments(sql: str) -> str:
    """The SQL without its string literals and -- comments (either may hold the other's marks)."""
    out, i, n = [], 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql[i] == "'":
            i += 1
            while i < n:
                if sql[i] == "'" and sql.startswith("''", i):
                    i += 2
                elif sql[i] == "'":
                    i += 1
                    break
                else:
                    i += 1
            out.append("''")
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def parse_query(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or not _NAME.match(lines[0]):
        raise CatalogError(f"{path}: the first line must be '-- name: <query_name>'")
    name = _NAME.match(lines[0]).group(1)
    # preparation files carry an order prefix; metric queries are found by their file name
    if path.parent.name != "prepare" and name != path.stem:
        raise CatalogError(f"{path}: the query is named {name!r}; the file must be named {name}.sql")
    description: list[str] = []
    params_line = None
    body_start = None
    for i, line in enumerate(lines[1:], start=1):
        match = _PARAMS.match(line)
        if match:
            params_line = match.group(1).strip()
            body_start = i + 1
            break
        if not line.startswith("--"):
            break
        description.append(line.lstrip("-").strip())
    if params_line is None:
        raise CatalogError(f"{path}: the header needs a '-- params: ...' line (or '-- params: none')")
    if not description:
        raise CatalogError(f"{path}: the header needs a line saying what the query returns")
    declared = () if params_line == "none" else tuple(m.group(1) for m in _DECLARED.finditer(params_line))
    sql = "\n".join(lines[body_start:]).strip().rstrip(";")
    used = set(_USED.findall(_strip_literals_and_comments(sql)))
    if used != set(declared):
        raise CatalogError(f"{path}: declared parameters {sorted(declared)} do not match the ones used {sorted(used)}")
    if not sql:
        raise CatalogError(f"{path}: the query body is empty")
    return NamedQuery(name, " ".join(description), declared, sql, path)


def load_catalog(directory: Path = QUERIES_DIR) -> tuple[list[NamedQuery], dict[str, NamedQuery]]:
    """(preparation statements in file order, metric queries by name).

    Metric queries may sit in `directory` or in any folder under it (one per dashboard area), except
    `prepare/`; their names are unique across all folders."""
    prepare = [parse_query(p) for p in sorted((directory / "prepare").glob("*.sql"))]
    queries: dict[str, NamedQuery] = {}
    for path in sorted(directory.rglob("*.sql")):
        if path.relative_to(directory).parts[0] == "prepare":
            continue
        query = parse_query(path)
        if query.name in queries:
            raise CatalogError(
                f"{path}: a query named {query.name!r} already exists in {queries[query.name].path}; "
                "query names are unique across folders"
            )
        queries[query.name] = query
    return prepare, queries
