"""Numpy columns to Arrow arrays: NEVER becomes null, cents become dollars, numbers become ids."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .scenario import DAY, NEVER


def ts_array(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    return pa.array(values, type=pa.timestamp("us"), mask=values == NEVER)


def date_array(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    days = np.where(values == NEVER, 0, values // DAY).astype(np.int32)
    return pa.array(days, type=pa.date32(), mask=values == NEVER)


def money_array(cents: np.ndarray) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return pa.array(cents / 100.0, type=pa.float64(), mask=cents == NEVER)


def str_array(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(object) if values.dtype.kind != "O" else values, type=pa.string(), mask=mask)


def id_array(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    padded = pc.utf8_lpad(pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, padded, "") if prefix else padded
