-- name: backlog_trend
-- One row per (UTC day, backlog stage), days ascending from the day of the cohort's earliest
-- plan_selected_at (cancelled included) to $as_of's day: the backlog at that stage as of the
-- end of the day (as of $as_of on its own day). Computed in one pass from each enrollment's
-- reached-by times: it enters a stage's backlog when it reaches the stage before, and leaves it
-- when it reaches the stage or is cancelled, whichever comes first.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH cohort AS (
    SELECT *
    FROM milestone_cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                          $states::VARCHAR[], $issuers::VARCHAR[])
),

first_day AS (
    SELECT CAST(min(plan_selected_at) AS DATE) AS day
    FROM cohort
    WHERE plan_selected_at <= $as_of::TIMESTAMP
),

day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        (SELECT CAST(day AS TIMESTAMP) FROM first_day),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP),
        INTERVAL 1 DAY
    )
),

stage_interval AS (
    SELECT 1 AS stage_order, reached_plan_selected_by AS entered_by, reached_sent_834_by AS left_by, cancelled_at FROM cohort
    UNION ALL SELECT 2, reached_sent_834_by, reached_accepted_834_by, cancelled_at FROM cohort
    UNION ALL SELECT 3, reached_accepted_834_by, reached_reached_payment_by, cancelled_at FROM cohort
    UNION ALL SELECT 4, reached_reached_payment_by, reached_paid_by, cancelled_at FROM cohort
    UNION ALL SELECT 5, reached_paid_by, reached_effectuated_by, cancelled_at FROM cohort
),

bounded AS (
    -- events after $as_of have not happened yet
    SELECT
        stage_order,
        entered_by,
        CASE WHEN least(left_by, cancelled_at) <= $as_of::TIMESTAMP
             THEN least(left_by, cancelled_at) END AS exited_by
    FROM stage_interval
    WHERE entered_by <= $as_of::TIMESTAMP
),

change AS (
    SELECT stage_order, CAST(entered_by AS DATE) AS day, 1 AS delta
    FROM bounded
    WHERE exited_by IS NULL OR exited_by > entered_by
    UNION ALL
    SELECT stage_order, CAST(exited_by AS DATE) AS day, -1 AS delta
    FROM bounded
    WHERE exited_by IS NOT NULL AND exited_by > entered_by
),

daily_change AS (
    SELECT stage_order, day, sum(delta) AS delta
    FROM change
    GROUP BY ALL
),

stage AS (
    SELECT * FROM (VALUES
        (1, 'awaiting_834'), (2, 'awaiting_ack'), (3, 'awaiting_payment_page'),
        (4, 'awaiting_payment'), (5, 'awaiting_effectuation')
    ) AS s(stage_order, stage)
),

final AS (
    SELECT
        d.day AS date,
        s.stage,
        CAST(sum(coalesce(c.delta, 0)) OVER (
            PARTITION BY s.stage_order ORDER BY d.day
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS BIGINT) AS count,
        s.stage_order
    FROM day AS d
    CROSS JOIN stage AS s
    LEFT JOIN daily_change AS c ON c.stage_order = s.stage_order AND c.day = d.day
)

SELECT date, stage, count FROM final ORDER BY date, stage_order
