"""Writes a demo export shaped like autumn 2013 on the federal marketplace (docs/demo.md).

Deterministic for a seed and size: every chunk of enrollments has its own random stream derived
from (seed, chunk number), so the files do not depend on how the work is scheduled. Chunks are
generated and written one at a time, which keeps memory flat whatever the size.

    scenario.py  the scenario's facts: sizes, seeds, dates and fixes, states, issuers, rates
    steps.py     the story of a chunk, one function per step (applications → … → cancellations)
    chunk.py     generate_chunk: the chunk's random stream, the steps in order, its tables
    tables.py    the chunk's enrollments, transactions_834 and payments tables
    columns.py   numpy columns to Arrow arrays (NEVER → null, cents → dollars, ids)
    writer.py    the output directory, atomic parquet/CSV files, X12 834/999 files

generate() and ensure_default_export() read CHUNK_SIZE and DEMO_ENROLLMENTS from this module.
"""

from __future__ import annotations

from pathlib import Path

from .chunk import generate_chunk
from .scenario import (
    CHUNK_SIZE,
    DEFAULT_SEED,
    DEMO_ENROLLMENTS,
    STATES,
    Issuer,
    build_issuers,
    canary_count,
    nc_payment_link_issuer,
    releases,
    state_pay_rates,
)
from .writer import ExportWriter, GenerateError, export_is_empty, prepare_output

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_SEED",
    "DEMO_ENROLLMENTS",
    "STATES",
    "GenerateError",
    "Issuer",
    "build_issuers",
    "canary_count",
    "ensure_default_export",
    "export_is_empty",
    "generate",
    "generate_chunk",
    "nc_payment_link_issuer",
    "releases",
    "state_pay_rates",
]


def generate(
    out: Path,
    enrollments: int = DEMO_ENROLLMENTS,
    seed: int = DEFAULT_SEED,
    *,
    force: bool = False,
    progress: bool = True,
    x12_dir: Path | None = None,
) -> dict[str, int]:
    """Write a demo export of `enrollments` public enrollments (plus canaries) into `out`.

    With `x12_dir`, the 834s are also written there as X12 834 files with their 999
    acknowledgements, and the parquet rows are the ones X12 carries (times to the second, the issuer
    named by the plan, ...: see x12.write.x12_representable): ingesting those files gives the same
    transactions_834 rows (under other ids), so X12 → ingest → report gives the parquet numbers.
    """
    if enrollments < 1:
        raise GenerateError("--enrollments must be at least 1")
    out = Path(out)
    prepare_output(out, force)
    issuers = build_issuers(seed)
    pay_rates = state_pay_rates(seed)
    chunks = [
        (c, c * CHUNK_SIZE, min(CHUNK_SIZE, enrollments - c * CHUNK_SIZE))
        for c in range((enrollments + CHUNK_SIZE - 1) // CHUNK_SIZE)
    ]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=enrollments + canary_count(),
            unit=" enrollments",
            desc="Generating demo export",
            unit_scale=True,
            leave=True,
        )
    work = [(c, first, n, False) for c, first, n in chunks] + [(0, 0, canary_count(), True)]
    writer = ExportWriter(out, x12_dir)
    for c, first, n, canary in work:
        tables = generate_chunk(seed, c, first, n, issuers, pay_rates, canary=canary)
        writer.write_part(tables, f"part-canary-{c:05d}.parquet" if canary else f"part-{c:05d}.parquet")
        if bar:
            bar.update(n)
    if bar:
        bar.close()
    return writer.finish(issuers, releases(issuers))


def ensure_default_export(default: Path, notify) -> bool:
    """Fill the default export directory with the demo export when it is empty; True if it did.

    Only ever called for the default directory: a directory a user names is never written.
    """
    if not export_is_empty(default):
        return False
    notify(
        f"No export in {default}: generating the demo export there first "
        f"({DEMO_ENROLLMENTS:,} enrollments, autumn 2013)."
    )
    generate(default, DEMO_ENROLLMENTS, DEFAULT_SEED)
    notify(f"Generated the demo export in {default}; the numbers shown are demo data.")
    return True
