"""X12 834/999 files: `read` validates one with pyx12 and maps it to transactions_834 rows or 999
acknowledgements, `write` writes rows as X12 (demo data), `ingest` is the `ingest-x12` command."""
