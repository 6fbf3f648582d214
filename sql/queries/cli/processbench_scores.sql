-- `rb-pipeline score` of a process reward model: ProcessBench's F1 per subset with its threshold
-- (sql/prm_processbench_scores.sql); the CLI keeps the scored model's rows.
select model, benchmark, subset, acc_err, acc_cor, f1, threshold, threshold_chosen_on, complete
from prm_processbench_scores
order by benchmark, subset
