-- name: conversion_by_week
-- One row per ISO week (Monday, UTC) of application_submitted_at in the cohort: each week's funnel
-- counts as of $as_of.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH cohort AS (
    SELECT *
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[])
),

final AS (
    SELECT
        CAST(date_trunc('week', application_submitted_at) AS DATE) AS week,
        count(entered_applied) AS applied,
        count(entered_plan_selected) AS plan_selected,
        count(entered_sent_834) AS sent_834,
        count(entered_accepted_834) AS accepted_834,
        count(entered_reached_payment) AS reached_payment,
        count(entered_paid) AS paid,
        count(entered_effectuated) AS effectuated
    FROM cohort
    GROUP BY ALL
)

SELECT * FROM final ORDER BY week
