-- name: macro_release_metric_units
-- Table macro release_metric_units(metric_name, as_of_t, states, issuers): the units of one of the
-- three release metrics (signals.md) as of as_of_t, one row each: unit_at (the time that places it
-- on a day or in a period), issuer_id (whose unit it is) and failed. The date window never applies.
-- params: none
--   error_834: a counted outbound 834 (not a test record; issuer and issuers.csv state filters),
--     at sent_at; failed = errored as of as_of_t.
--   redirect_failure: a payment row redirected by as_of_t whose enrollment is known (any
--     enrollments row, whatever as_of_t) and not a test, filtered by the enrollment's state and
--     issuer; at redirected_at; failed = redirect_status is not 'ok' (null included).
--   late_834: a non-test enrollment submitted by as_of_t with its plan selected by as_of_t - 24 h
--     and not cancelled by plan_selected_at + 24 h, filtered by its state and issuer; at
--     plan_selected_at; failed = no outbound 021 to its own issuer sent by plan_selected_at + 24 h.
-- Only the branch of metric_name reads anything.
CREATE OR REPLACE MACRO release_metric_units(metric_name, as_of_t, states, issuers) AS TABLE
SELECT sent_at AS unit_at, issuer_id, is_errored AS failed
FROM counted_outbound_834(as_of_t, NULL, NULL, states, issuers)
WHERE metric_name = 'error_834'

UNION ALL

SELECT
    redirected_at AS unit_at,
    enrollment_issuer_id AS issuer_id,
    coalesce(redirect_status <> 'ok', true) AS failed
FROM payments
WHERE metric_name = 'redirect_failure'
  AND redirected_at <= as_of_t
  AND enrollment_known
  AND NOT is_test_record
  AND (states IS NULL OR list_contains(states, enrollment_state))
  AND (issuers IS NULL OR list_contains(issuers, enrollment_issuer_id))

UNION ALL

SELECT
    plan_selected_at AS unit_at,
    issuer_id,
    -- first_sent_834: the first outbound 021 to the enrollment's own issuer, whatever its ack
    coalesce(first_sent_834 > plan_selected_at + INTERVAL 24 HOURS, true) AS failed
FROM enrollment_milestones
WHERE metric_name = 'late_834'
  AND NOT is_test
  AND application_submitted_at <= as_of_t
  AND plan_selected_at <= as_of_t - INTERVAL 24 HOURS
  AND NOT coalesce(cancelled_at <= plan_selected_at + INTERVAL 24 HOURS, false)
  AND (states IS NULL OR list_contains(states, state))
  AND (issuers IS NULL OR list_contains(issuers, issuer_id))
