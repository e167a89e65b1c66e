-- name: prepare_enrollments
-- One row per enrollment as exported (test records included), money in cents, plus the responsible amount.
-- params: none
CREATE OR REPLACE TABLE enrollments AS
WITH staged AS (
    SELECT * FROM stg_enrollments
),

final AS (
    SELECT
        *,
        -- metrics.md: max(0, premium - coalesce(subsidy, 0)); unknown when the premium is unknown
        CASE
            WHEN total_premium_cents IS NULL THEN NULL
            ELSE greatest(0, total_premium_cents - coalesce(aptc_amount_cents, 0))
        END AS responsible_cents
    FROM staged
)

-- Stored in filter order: a state or issuer filter then reads only the blocks that hold its enrollments.
SELECT * FROM final ORDER BY state, issuer_id, application_submitted_at
