-- hub export, the hint when a model has no run: the models with a complete run.
select distinct model from latest_runs order by 1
