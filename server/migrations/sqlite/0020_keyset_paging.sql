-- The employee list pages by (login_key, id): an index in that order serves any page, however
-- deep, as cheaply as the first.
CREATE INDEX employees_by_list_order ON employees (login_key, id);
