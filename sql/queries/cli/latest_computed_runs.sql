-- `rb-pipeline import`: each model's latest computed run per benchmark, which stays the model's score
-- beside an import under the same id (runs_history.is_latest).
select model, benchmark, run_id
from runs_history
where is_latest and provenance = 'computed'
