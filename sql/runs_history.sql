-- runs_history: one row per (model, benchmark, run) of every *complete* run, computed or imported.
-- Rule (SPEC "Scores"): history is append-only; a run that failed or is still running never counts.
-- is_latest marks the run the latest-run views read for a (model, benchmark): the most recent
-- complete computed run, else (no computed run at all) the most recent complete imported run; ties on
-- ended_at go to the larger run_id. latest_runs, example_outcomes, subset_accuracy and
-- section_scores are filters of the *_history views on is_latest, so the two never disagree.
-- settings: the run's scorer settings (JSON), as in `runs`.
with run_benchmarks as (
    select
        run_id,
        model,
        model_type,
        provenance,
        ended_at,
        settings,
        unnest(benchmarks) as benchmark
    from runs
    where status = 'complete' and provenance in ('computed', 'imported')
),

ranked as (
    select
        *,
        row_number() over (
            partition by model, benchmark
            order by provenance = 'computed' desc, ended_at desc, run_id desc
        ) as preference
    from run_benchmarks
),

final as (
    select
        model,
        benchmark,
        run_id,
        ended_at,
        provenance,
        model_type,
        settings,
        preference = 1 as is_latest
    from ranked
)

select * from final
