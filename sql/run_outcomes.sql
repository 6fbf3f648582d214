-- run_outcomes: one row per (run, benchmark, example) of every complete run, computed or imported: the
-- outcomes the comparison views (reproduction_examples, reproduction_diff, flips) and suspect_labels
-- read. Computed runs and offline ensembles: example_outcomes_history (its rules, unchanged);
-- imported runs: the per-example rows of the imported file (imported_outcomes; per-subset metrics files
-- carry no examples and are absent here). is_latest, provenance and model_type: runs_history's.
with computed as (
    select model, run_id, benchmark, subset, example_id, correct, margin, credit
    from example_outcomes_history
),

imported as (
    select model, run_id, benchmark, subset, example_id, correct, margin, credit
    from imported_outcomes
),

final as (
    select
        outcomes.model,
        outcomes.run_id,
        runs.ended_at,
        runs.provenance,
        runs.model_type,
        runs.is_latest,
        outcomes.benchmark,
        outcomes.subset,
        outcomes.example_id,
        outcomes.correct,
        outcomes.margin,
        outcomes.credit
    from (select * from computed union all select * from imported) as outcomes
    inner join runs_history as runs
        on runs.run_id = outcomes.run_id
        and runs.model = outcomes.model
        and runs.benchmark = outcomes.benchmark
)

select * from final
