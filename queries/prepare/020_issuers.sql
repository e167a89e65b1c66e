-- name: prepare_issuers
-- One row per issuer of issuers.csv, as text.
-- params: none
CREATE OR REPLACE TABLE issuers AS
WITH staged AS (
    SELECT issuer_id, issuer_name, state, _source_file FROM stg_issuers
),

final AS (
    SELECT * FROM staged WHERE issuer_id IS NOT NULL
)

SELECT * FROM final
