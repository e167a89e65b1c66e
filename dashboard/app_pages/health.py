"""Data health and canaries: is the export complete, fresh and well-formed, and do test records come out the other end?"""

import pandas as pd
import streamlit as st

from dashboard import config, serving, ui
from dashboard import definitions as d
from dashboard import metrics as m
from dashboard.problems import as_seen_by
from dashboard.report import iso_utc

export: serving.LoadedExport = st.session_state["export"]
view: serving.View | None = st.session_state["view"]
st.title("Data health and canaries")
st.caption("Is the export complete, fresh and well-formed, and do the canary test records come out the other end?")
scope = view.scope if view else st.session_state["access"].scope
# the server's directory is for the marketplace's own readers; a caller of some issuers gets the fingerprint
everyone = scope.issuers is None
where = f"Export directory: `{export.export_dir}` · " if everyone else "Export "
st.markdown(f"{where}fingerprint `{export.fingerprint}` · loaded {iso_utc(export.loaded_at.replace(microsecond=0))}")

no_event = export.engine is not None and serving.latest_event(export.fingerprint, export.engine) is None
if no_event:
    st.markdown("The export holds no event yet, so there is no as-of time: the checks below cover the whole export.")
elif view is not None:
    st.markdown(ui.describe_filters(view) + " (the filters apply to the canaries; the checks cover the whole export)")
_IN_FULL = 20  # problems also written out in full below the table
# a problem about one issuer is that issuer's data: shown only to callers who may see it; one about the whole
# export is shown to a caller of some issuers without its text, which can quote another issuer's values
problems = as_seen_by(export.problems, scope.issuers)
errors = [p for p in problems if p.severity == "error"]
warnings = [p for p in problems if p.severity == "warning"]
if errors:
    st.error(f"{len(errors)} problem(s) make parts of the dashboard unavailable until the export is fixed.")
elif warnings:
    st.warning(f"No blocking problem; {len(warnings)} warning(s) below.")
else:
    st.success("The export passes every check of the data contract.")
if problems:
    st.dataframe(
        pd.DataFrame([p.located(export.export_dir, server_path=everyone).as_dict() for p in problems]),
        hide_index=True,
        column_order=["severity", "table", "file", "column", "rows", "message"],
    )
    # a table cell cuts a long message at the column's edge: each one also in full, wrapped
    shown = problems[:_IN_FULL]
    st.markdown(
        "\n".join(f"- {ui.escape_markdown(str(p.located(export.export_dir, server_path=everyone)))}" for p in shown)
        + (f"\n\n… and {len(problems) - len(shown)} more in the table above." if len(problems) > len(shown) else "")
    )

if export.engine is None:
    st.stop()

st.subheader("Tables")
summary = {r["table"]: r for r in export.engine.table_summary()}
fresh = serving.table_freshness(export.fingerprint, export.engine)
now = m.utc_now()
rows = []
for r in fresh:
    latest = r["latest_event_at"]
    age_days, stale = m.freshness(latest, now, config.stale_after_hours())
    rows.append(
        {
            "Table": r["table_name"],
            "Files": summary[r["table_name"]]["files"],
            "Rows": r["row_count"],
            "Latest event (UTC)": latest,
            "Days old": age_days,
            "Fresh": "stale" if stale else "fresh",
        }
    )
table = pd.DataFrame(rows)
if scope is not None and scope.issuers is not None:
    # whole-export sizes count every issuer's records: not for a caller who sees only some issuers
    table = table.drop(columns=["Files", "Rows"])
st.dataframe(
    table,
    hide_index=True,
    column_config={
        "Days old": st.column_config.NumberColumn(format="%.1f"),
        "Rows": st.column_config.NumberColumn(format="localized"),
    },
)
stale = [r["Table"] for r in rows if r["Fresh"] == "stale"]
if no_event:
    st.warning("No table holds an event yet: there is nothing to be fresh or stale.")
elif stale:
    st.warning(
        f"Stale export: the newest event in {', '.join(stale)} is more than "
        f"{config.stale_after_hours():.0f} hours old. The numbers are as of {iso_utc(view.latest) if view else '–'}."
    )
for r in serving.future_timestamps(export.fingerprint, export.engine):
    # a count over every issuer's rows: not for a caller who sees only some issuers
    counted = f"{r['row_count']:,} row(s) carry" if scope is None or scope.issuers is None else "rows carry"
    st.warning(
        f"Table {r['table_name']}, column {r['column_name']}: {counted} timestamps later "
        f"than now (latest {iso_utc(r['latest'])}); the default as-of time ignores them."
    )

directory = serving.scoped_directory(export, view.scope) if view else []
missing = [r["issuer_id"] for r in directory if not r["listed"]]
st.subheader("Issuers missing from issuers.csv")
if export.table_errors(("issuers",)):
    st.info(
        "issuers.csv cannot be read (see the problems above), so which issuers it lists cannot be checked.",
        icon=":material/help:",
    )
elif missing:
    st.warning(
        f"{len(missing)} issuer id(s) appear in the export but not in issuers.csv; they are counted, shown "
        "by id and have no state: " + ", ".join(missing)
    )
else:
    st.success("Every issuer in the export is listed in issuers.csv.")

st.subheader("Canaries")
st.caption(
    'Test ("John Doe") records pushed end to end by issuers and the exchange. Stuck: not effectuated and '
    "in its current stage for more than 48 hours. The date window does not apply."
)
canary_tables = ("enrollments", "transactions_834", "payments")
if export.table_errors(canary_tables):
    # this page lists every problem above: say so, rather than link to this page
    st.info(
        "The canaries need the tables " + ", ".join(canary_tables) + ", which have the problems listed above.",
        icon=":material/help:",
    )
elif view is not None:
    canaries = serving.get(view, "canaries")
    if not canaries:
        ui.empty("No canary record in this view.")
    else:
        canary_counts = m.canary_summary(canaries)
        labels = {"canaries": "Canaries", "effectuated": "Came out the other end", "stuck": "Stuck"}
        for column, key in zip(st.columns(3), labels, strict=True):
            column.metric(labels[key], d.format_value("count", canary_counts[key]), border=True)
        frame = pd.DataFrame(ui.named(view, canaries))
        frame["stage"] = frame["stage"].map(d.STAGE_LABELS)
        st.dataframe(
            frame[["enrollment_id", "name", "state", "stage", "entered_at", "stuck", "cancelled"]],
            hide_index=True,
            column_config={"name": "Issuer", "stage": "Furthest stage", "entered_at": "Entered (UTC)"},
        )
