-- latest_runs: for each (model, benchmark), the most recent *complete* run that covered it.
-- Rule (SPEC "Scores"): history is append-only; views read the latest complete computed run per
-- model (imported runs carry no scores; they feed subset_accuracy through imported_metrics).
with run_benchmarks as (
    select run_id, model, ended_at, unnest(benchmarks) as benchmark
    from runs
    where status = 'complete' and provenance = 'computed'
),

ranked as (
    select
        *,
        row_number() over (partition by model, benchmark order by ended_at desc, run_id desc) as recency
    from run_benchmarks
),

final as (
    select model, benchmark, run_id, ended_at
    from ranked
    where recency = 1
)

select * from final
