-- name: backlog_trend
-- One row per (UTC day, backlog stage), days ascending from $first_day (the day of the cohort's
-- earliest plan_selected_at, cancelled included) to the day before $as_of's: the backlog at that
-- stage as of the end of the day. An enrollment enters a stage's backlog when it reaches the stage
-- before, and leaves it when it reaches the stage or is cancelled, whichever comes first. Running
-- sums of the prepared day_changes, which do not depend on $as_of; $as_of's own day, as of $as_of,
-- is the backlog per stage of backlog_aging (metrics.backlog_trend adds it).
-- params: $as_of timestamp, $first_day date, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH stage AS (
    SELECT * FROM (VALUES
        (1, 'awaiting_834'), (2, 'awaiting_ack'), (3, 'awaiting_payment_page'),
        (4, 'awaiting_payment'), (5, 'awaiting_effectuation')
    ) AS s(stage_order, stage)
),

day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        CAST($first_day::DATE AS TIMESTAMP),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP) - INTERVAL 1 DAY,
        INTERVAL 1 DAY
    )
),

daily_change AS (
    SELECT series AS stage, day, delta
    FROM cohort_day_changes($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                            $states::VARCHAR[], $issuers::VARCHAR[])
),

running AS (
    SELECT
        d.day AS date,
        s.stage,
        s.stage_order,
        CAST(sum(coalesce(c.delta, 0)) OVER (
            PARTITION BY s.stage_order ORDER BY d.day
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS BIGINT) AS count
    FROM day AS d
    CROSS JOIN stage AS s
    LEFT JOIN daily_change AS c ON c.stage = s.stage AND c.day = d.day
),

final AS (
    SELECT date, stage, count, stage_order FROM running
)

SELECT date, stage, count FROM final ORDER BY date, stage_order
