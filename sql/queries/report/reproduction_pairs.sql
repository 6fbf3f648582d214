-- compare.html's pairs: each model's latest computed run on a benchmark and its latest imported run
-- there (a published per-example file).
select
    local.model,
    local.benchmark,
    local.run_id as local_run,
    max_by(published.run_id, published.ended_at) as published_run
from runs_history as local
inner join runs_history as published
    on published.model = local.model and published.benchmark = local.benchmark
    and published.provenance = 'imported'
where local.is_latest and local.provenance = 'computed'
group by all
order by 1, 2
