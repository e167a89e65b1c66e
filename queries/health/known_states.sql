-- name: known_states
-- One row per state code found in enrollments or issuers.csv (state order), of the issuers in
-- $issuers only (the caller's scope; null: every issuer): the values a state filter can match. A
-- filter value outside this list is named as unknown (metrics.md, Filters).
-- params: $issuers varchar[]
WITH states AS (
    SELECT state, issuer_id FROM enrollments
    UNION SELECT state, issuer_id FROM issuers
)

SELECT DISTINCT state FROM states
WHERE state IS NOT NULL AND ($issuers IS NULL OR list_contains($issuers, issuer_id))
ORDER BY state
