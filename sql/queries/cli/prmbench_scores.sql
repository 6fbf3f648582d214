-- `rb-pipeline score` of a process reward model: PRMBench's PRMScore per category, then the overall and
-- group rows (sql/prm_prmbench_scores.sql); the CLI keeps the scored model's rows.
select model, benchmark, scope, name, prmscore, f1, f1_neg, complete
from prm_prmbench_scores
order by benchmark, scope = 'group', scope = 'overall', name
