-- Reasons the server recorded in words now use the same labels as every other reason.
UPDATE keys SET status_reason = 'invalid_activation_code' WHERE status_reason = 'invalid activation code';
UPDATE keys SET status_reason = 'reported_by_key' WHERE status_reason = 'reported by the key';
