-- the run ids $name stands for: itself when it is a complete run's id, else the model's latest run on
-- each benchmark.
select distinct run_id from runs_history where run_id = $name
union
select distinct run_id from runs_history
where model = $name and is_latest and not exists (select 1 from runs_history where run_id = $name)
order by run_id
