-- name: macro_cohort_day_changes
-- Table macro cohort_day_changes(as_of_t, date_from, date_to, states, issuers): the net change per
-- (series, day) of the cohort's day-end counts (day_changes) on the days before as_of_t's day, in
-- the [date_from, date_to) window (midnights: whole submission days) and the state / issuer filters
-- (null = all). These days' values do not depend on as_of_t; a trend adds as_of_t's own day.
-- params: none
CREATE OR REPLACE MACRO cohort_day_changes(as_of_t, date_from, date_to, states, issuers) AS TABLE
SELECT series, day, sum(delta) AS delta
FROM day_changes
WHERE day < CAST(as_of_t AS DATE)
  AND (date_from IS NULL OR submitted_day >= CAST(date_from AS DATE))
  AND (date_to IS NULL OR submitted_day < CAST(date_to AS DATE))
  AND (states IS NULL OR list_contains(states, state))
  AND (issuers IS NULL OR list_contains(issuers, issuer_id))
GROUP BY series, day
