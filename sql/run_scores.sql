-- run_scores: the scores each run reads, one row per (run, response): every run in `runs`, complete or not.
-- Rule (SPEC "Scores"): a score is stored once per (model, settings key, response), by the run that
-- computed it (lake/scores/model=.../run=<that run>/, the `stored_scores` table); the settings key
-- covers the model's revision. A later run with the same model and settings key reuses the score
-- without a copy, so a run's scores are every stored score of its (model, settings_key); join
-- `responses` for those of its benchmarks. Lakes written before one-score-per-response also hold
-- copies (`reused`, part-reused.parquet): an original comes before a copy, then the latest computation.
-- reused: the score was computed by another run (an earlier one, or a concurrent one it waited for).
with stored as (
    select
        *,
        row_number() over (
            partition by model, settings_key, response_id
            order by coalesce(reused, false), run_id desc
        ) as preference
    from stored_scores
),

final as (
    select
        runs.model,
        runs.run_id,
        stored.settings_key,
        stored.response_id,
        stored.score,
        stored.score_vector,
        stored.n_tokens,
        stored.truncated_tokens,
        stored.run_id <> runs.run_id as reused,
        stored.run_id as scored_in_run
    from runs
    inner join stored
        on stored.model = runs.model
        and stored.settings_key = runs.settings_key
        and stored.preference = 1
)

select * from final
