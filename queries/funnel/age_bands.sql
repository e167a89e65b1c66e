-- name: age_bands
-- One row per age band (0-17, 18-34, 35-54, 55-64, 65+, in that order, zeros included): cohort
-- enrollments with a plan selected as of $as_of whose subscriber was in that band on the day the
-- plan was selected. Only counts leave the database: birth dates are never returned.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH selected AS (
    SELECT plan_selected_at, subscriber_birth_date
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE entered_plan_selected IS NOT NULL
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

counted AS (
    SELECT
        CASE WHEN age >= 0 AND age < 18 THEN 1 WHEN age < 35 THEN 2 WHEN age < 55 THEN 3 WHEN age < 65 THEN 4
             WHEN age < 1000 THEN 5 END AS band_order,
        count(*) AS enrollments
    FROM aged
    WHERE age IS NOT NULL
    GROUP BY ALL
),

final AS (
    SELECT b.band_order, b.age_band, coalesce(c.enrollments, 0) AS enrollments
    FROM band AS b
    LEFT JOIN counted AS c ON c.band_order = b.band_order
)

SELECT age_band, enrollments FROM final ORDER BY band_order
