-- hub export, prm_scores.parquet (and the report's PRM tables): a process reward model's step-level
-- scores, one row per PRMBench category / overall / group (prm_prmbench_scores: PRMScore, F1, F1_neg)
-- and per ProcessBench subset (prm_processbench_scores: acc_err, acc_cor, F1); empty for other models.
with prmbench as (
    select * exclude (model)
    from prm_prmbench_scores
    where model = $model
),

processbench as (
    select benchmark, 'subset' as scope, subset as name, * exclude (model, benchmark, subset)
    from prm_processbench_scores
    where model = $model
),

final as (
    select * from prmbench
    union all by name
    select * from processbench
)

select * from final order by benchmark, scope, name
