-- Migration 3: operations by span name.
--
-- A search by span name alone starts from the operations of that name, in
-- any service, and reads their spans through spans_by_op; without this index
-- it would scan every operation first.
CREATE INDEX operations_by_name ON operations (name);
