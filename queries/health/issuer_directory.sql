-- name: issuer_directory
-- One row per issuer id known to issuers.csv or seen in any export table (issuer_id order): its name
-- and state from issuers.csv (null when it is missing there) and whether it is listed.
-- params: none
WITH seen AS (
    SELECT issuer_id FROM enrollments
    UNION SELECT issuer_id FROM transactions_834
    UNION SELECT issuer_id FROM payments
    UNION SELECT issuer_id FROM issuers
),

final AS (
    SELECT s.issuer_id, i.issuer_name, i.state, i.issuer_id IS NOT NULL AS listed
    FROM seen AS s
    LEFT JOIN issuers AS i ON i.issuer_id = s.issuer_id
    WHERE s.issuer_id IS NOT NULL
)

SELECT * FROM final ORDER BY issuer_id
