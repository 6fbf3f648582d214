-- a model's ($model) latest run on each benchmark (its page's flips are since the run before it).
select benchmark, run_id from runs_history where model = $model and is_latest order by 1
