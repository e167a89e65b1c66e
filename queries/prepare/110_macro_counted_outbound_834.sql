-- name: macro_counted_outbound_834
-- Table macro counted_outbound_834(as_of_t, date_from, date_to, states, issuers): the outbound
-- 834s the error rates count: not test records, sent in [date_from, date_to) (null = open), of an
-- issuer in the filter, whose state in issuers.csv is in the filter (no state = excluded by one).
-- params: none
CREATE OR REPLACE MACRO counted_outbound_834(as_of_t, date_from, date_to, states, issuers) AS TABLE
SELECT *
FROM outbound_834_status(as_of_t)
WHERE NOT is_test_record
  AND (date_from IS NULL OR sent_at >= date_from)
  AND (date_to IS NULL OR sent_at < date_to)
  AND (states IS NULL OR coalesce(list_contains(states, issuer_state), false))
  AND (issuers IS NULL OR list_contains(issuers, issuer_id))
