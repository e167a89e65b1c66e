"""The one package that talks to DuckDB: prepares an export once, then runs named queries on it.

core.Engine runs the queries. The export is read by staging (typed SELECTs per file), prepared by
prepare (in full) or incremental (from the previous prepared file), checked by validate and kept by
store (prepared DuckDB files); catalog loads the named queries of queries/.
"""

from .core import Engine

__all__ = ["Engine"]
