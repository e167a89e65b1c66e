"""The one package that talks to DuckDB: prepares an export once, then runs named queries on it.

core.Engine prepares and runs the queries; staging builds the typed SELECTs per file; catalog
loads the named queries of queries/.
"""

from .core import Engine

__all__ = ["Engine"]
