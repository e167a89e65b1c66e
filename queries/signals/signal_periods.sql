-- name: signal_periods
-- The interrupted-time-series periods of every release judged on $metric (signals.md "Fix impact,
-- trend-adjusted"): releases deployed by $as_of that the caller may see ($release_issuers: null =
-- all; else releases without an issuer or with one listed). One row per (release_id, unit_group,
-- k) with n > 0: the units at t in [R - $its_days days, least(R + $its_days days, $until)) (R =
-- deployed_at, $until = $as_of minus the metric's maturity lag), k = floor((t - R) / 1 day) to
-- the microsecond, n units, x failures. unit_group: 'release' = the release's units (its issuer's
-- when it has one, else the view's); 'comparison' = the view's other issuers' units (releases with
-- an issuer only).
-- params: $metric varchar, $as_of timestamp, $until timestamp, $its_days integer, $states varchar[], $issuers varchar[], $release_issuers varchar[]
WITH judged_release AS (
    SELECT
        release_id,
        issuer_id,
        deployed_at,
        deployed_at - to_days(CAST($its_days AS INTEGER)) AS window_start,
        least(deployed_at + to_days(CAST($its_days AS INTEGER)), $until::TIMESTAMP) AS window_end
    FROM releases
    WHERE metric = $metric::VARCHAR
      AND deployed_at <= $as_of::TIMESTAMP
      AND (
          $release_issuers::VARCHAR[] IS NULL
          OR issuer_id IS NULL
          OR list_contains($release_issuers::VARCHAR[], issuer_id)
      )
),

unit AS (
    SELECT *
    FROM release_metric_units($metric::VARCHAR, $as_of::TIMESTAMP, $states::VARCHAR[], $issuers::VARCHAR[])
),

in_window AS (
    SELECT
        r.release_id,
        CASE WHEN r.issuer_id IS NULL OR u.issuer_id = r.issuer_id THEN 'release' ELSE 'comparison' END
            AS unit_group,
        -- exact to the microsecond; whole multiples of a day divide exactly in a double
        CAST(floor((epoch_us(u.unit_at) - epoch_us(r.deployed_at)) / 86400000000.0) AS BIGINT) AS k,
        u.failed
    FROM judged_release AS r
    JOIN unit AS u
      ON u.unit_at >= r.window_start
     AND u.unit_at < r.window_end
),

final AS (
    SELECT release_id, unit_group, k, count(*) AS n, count(*) FILTER (WHERE failed) AS x
    FROM in_window
    GROUP BY ALL
)

SELECT * FROM final ORDER BY release_id, unit_group, k
