-- name: signal_daily
-- One row per UTC day with at least one unit of release metric $metric as of $as_of (date order):
-- n units and x failures that day (signals.md "Control charts"). Days without units, and which
-- days are mature, are the caller's (dashboard.metrics.control_charts).
-- params: $metric varchar, $as_of timestamp, $states varchar[], $issuers varchar[]
WITH unit AS (
    SELECT CAST(unit_at AS DATE) AS day, failed
    FROM release_metric_units($metric::VARCHAR, $as_of::TIMESTAMP, $states::VARCHAR[], $issuers::VARCHAR[])
),

final AS (
    SELECT day AS date, count(*) AS n, count(*) FILTER (WHERE failed) AS x
    FROM unit
    GROUP BY day
)

SELECT * FROM final ORDER BY date
