-- a process reward model's numbers per PRMBench category / group and per ProcessBench subset
-- (sql/prm_*.sql), for the scores asset's metadata.
select benchmark, name as subset, scope, prmscore as score, null::double as threshold
from prm_prmbench_scores where model = $model
union all
select benchmark, subset, 'subset' as scope, f1 as score, threshold
from prm_processbench_scores where model = $model
order by benchmark, scope, subset
