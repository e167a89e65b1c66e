-- name: releases
-- One row per release deployed by $as_of that the caller may see ($release_issuers: null = all;
-- else releases without an issuer or with one listed), in deployed_at, release_id order: what the
-- trend charts mark. Fix impact judges the same releases. metric: the failure rate it is judged on;
-- issuer_state: its issuer's state in issuers.csv (null without an issuer, or when unknown there).
-- params: $as_of timestamp, $release_issuers varchar[]
SELECT r.release_id, r.deployed_at, r.issuer_id, r.component, r.title, r.metric, i.state AS issuer_state
FROM releases AS r
LEFT JOIN issuers AS i ON i.issuer_id = r.issuer_id
WHERE r.deployed_at <= $as_of::TIMESTAMP
  AND (
      $release_issuers::VARCHAR[] IS NULL
      OR r.issuer_id IS NULL
      OR list_contains($release_issuers::VARCHAR[], r.issuer_id)
  )
ORDER BY r.deployed_at, r.release_id
