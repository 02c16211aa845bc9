-- The setup token expires: it is good for an hour after the start that offered it.
ALTER TABLE bootstrap ADD COLUMN offered_at INTEGER;
