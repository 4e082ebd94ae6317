-- A call that sent data and whose outcome is unknown (its answer was lost, or its worker died between
-- the call and the outcome) may have left a record at the partner under an id the gateway never
-- learned. uncertain_since marks that, per (subject, partner), until an erase that searches the
-- partner for what it was given (the pseudonym) or an operator resolves it; erasure is not complete
-- while it is set.
alter table links add column uncertain_since timestamptz;
