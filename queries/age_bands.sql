-- name: age_bands
-- One row per age band (0-17, 18-34, 35-54, 55-64, 65+, in that order, zeros included): cohort
-- enrollments with a plan selected as of $as_of whose subscriber was in that band on the day the
-- plan was selected. Only counts leave the database: birth dates are never returned.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH selected AS (
    SELECT c.enrollment_id, c.plan_selected_at, e.subscriber_birth_date
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[]) AS c
    JOIN enrollments AS e ON e.enrollment_id = c.enrollment_id
    WHERE c.entered_plan_selected IS NOT NULL
),

aged AS (
    -- whole years completed on the selection day
    SELECT date_sub('year', subscriber_birth_date, CAST(plan_selected_at AS DATE)) AS age
    FROM selected
),

band AS (
    SELECT * FROM (VALUES
        (1, '0-17', 0, 18), (2, '18-34', 18, 35), (3, '35-54', 35, 55), (4, '55-64', 55, 65), (5, '65+', 65, 1000)
    ) AS b(band_order, age_band, low, high)
),

final AS (
    SELECT b.band_order, b.age_band, count(a.age) AS enrollments
    FROM band AS b
    LEFT JOIN aged AS a ON a.age >= b.low AND a.age < b.high
    GROUP BY ALL
)

SELECT age_band, enrollments FROM final ORDER BY band_order
