-- name: macro_cohort
-- Table macro cohort(as_of_t, date_from, date_to, states, issuers): enrollment_stages(as_of_t)
-- for the enrollments every enrollment-level metric counts: not test records, submitted by
-- as_of_t, inside the [date_from, date_to) window (null = open) and the state / issuer filters
-- (null = all; several values OR, kinds AND).
-- params: none
CREATE OR REPLACE MACRO cohort(as_of_t, date_from, date_to, states, issuers) AS TABLE
SELECT *
FROM enrollment_stages(as_of_t)
WHERE NOT is_test
  AND (date_from IS NULL OR application_submitted_at >= date_from)
  AND (date_to IS NULL OR application_submitted_at < date_to)
  AND (states IS NULL OR list_contains(states, state))
  AND (issuers IS NULL OR list_contains(issuers, issuer_id))
