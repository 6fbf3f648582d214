-- the model's ($model) complete run on $benchmark just before its latest one, of the same provenance
-- (ties on ended_at: the larger run id is the later).
with latest as (
    select run_id, ended_at, provenance from runs_history
    where model = $model and benchmark = $benchmark and is_latest
)

select runs.run_id
from runs_history as runs
inner join latest
    on runs.provenance = latest.provenance and runs.run_id <> latest.run_id
    and (runs.ended_at < latest.ended_at or (runs.ended_at = latest.ended_at and runs.run_id < latest.run_id))
where runs.model = $model and runs.benchmark = $benchmark
order by runs.ended_at desc, runs.run_id desc
limit 1
