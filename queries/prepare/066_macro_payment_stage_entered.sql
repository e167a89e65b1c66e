-- name: macro_payment_stage_entered
-- Scalar macro payment_stage_entered(previous, event, responsible_cents): stage_entered for the two
-- payment stages (reached payment page, paid), which an enrollment with nothing to pay (a 100%
-- subsidy, responsible_cents = 0) enters together with the stage before them.
-- params: none
CREATE OR REPLACE MACRO payment_stage_entered(previous, event, responsible_cents) AS
CASE
    WHEN previous IS NULL THEN NULL
    WHEN responsible_cents = 0 THEN previous
    WHEN event IS NOT NULL THEN greatest(event, previous)
END
