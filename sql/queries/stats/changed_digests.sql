-- The models of $models whose outcome digest (outcome_digests.sql) differs between `digests` (this
-- update's) and `stored` (the warehouse file's), or is on one side only: their intervals, rank
-- groups and suspect labels must be recomputed.
select model
from {{ digests }} as new
full outer join {{ stored }} as old using (model)
where model in (select unnest($models::varchar[])) and new.sha256 is distinct from old.sha256
