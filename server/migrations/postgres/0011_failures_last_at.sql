-- The directory forgets wrong passwords a window after the *last* one: so does the portal.
ALTER TABLE password_failures ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
UPDATE password_failures SET last_at = first_at;
-- When the owner activated a key (an administrator's unlock of a never-activated key makes it
-- no target for sealed passwords).
ALTER TABLE keys ADD COLUMN activated_at BIGINT;
UPDATE keys SET activated_at = registered_at WHERE status IN ('active', 'locked', 'suspended');
