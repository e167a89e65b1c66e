-- name: backlog_trend
-- One row per (UTC day, backlog stage), days ascending from the day of the cohort's earliest
-- plan_selected_at (cancelled included) to $as_of's day: the backlog at that stage as of the
-- end of the day (as of $as_of on its own day). An enrollment enters a stage's backlog when it
-- reaches the stage before, and leaves it when it reaches the stage or is cancelled, whichever
-- comes first. The days before $as_of's are the running sums of the prepared day_changes (they
-- do not depend on $as_of); $as_of's own day is counted from the reached-by times as of $as_of.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH open_now AS (
    -- one pass over the cohort as of $as_of, with no per-enrollment steps: the enrollments not
    -- cancelled that reached each stage (reaching a stage implies reaching the ones before it)
    SELECT
        CAST(min(plan_selected_at) FILTER (WHERE plan_selected_at <= $as_of::TIMESTAMP) AS DATE) AS first_day,
        count(*) FILTER (WHERE open AND reached_plan_selected_by <= $as_of::TIMESTAMP) AS r2,
        count(*) FILTER (WHERE open AND reached_sent_834_by <= $as_of::TIMESTAMP) AS r3,
        count(*) FILTER (WHERE open AND reached_accepted_834_by <= $as_of::TIMESTAMP) AS r4,
        count(*) FILTER (WHERE open AND reached_reached_payment_by <= $as_of::TIMESTAMP) AS r5,
        count(*) FILTER (WHERE open AND reached_paid_by <= $as_of::TIMESTAMP) AS r6,
        count(*) FILTER (WHERE open AND reached_effectuated_by <= $as_of::TIMESTAMP) AS r7
    FROM (
        SELECT *, (cancelled_at IS NULL OR cancelled_at > $as_of::TIMESTAMP) AS open
        FROM milestone_cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[])
    )
),

now AS (
    -- in a stage's backlog: reached the stage before it, not the stage itself, not cancelled
    SELECT first_day, r2 - r3 AS s1, r3 - r4 AS s2, r4 - r5 AS s3, r5 - r6 AS s4, r6 - r7 AS s5
    FROM open_now
),

stage AS (
    SELECT * FROM (VALUES
        (1, 'awaiting_834'), (2, 'awaiting_ack'), (3, 'awaiting_payment_page'),
        (4, 'awaiting_payment'), (5, 'awaiting_effectuation')
    ) AS s(stage_order, stage)
),

day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        (SELECT CAST(first_day AS TIMESTAMP) FROM now),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP),
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
    SELECT
        r.date,
        r.stage,
        CASE
            WHEN r.date < CAST($as_of::TIMESTAMP AS DATE) THEN r.count
            ELSE CAST([n.s1, n.s2, n.s3, n.s4, n.s5][r.stage_order] AS BIGINT)
        END AS count,
        r.stage_order
    FROM running AS r
    CROSS JOIN now AS n
)

SELECT date, stage, count FROM final ORDER BY date, stage_order
