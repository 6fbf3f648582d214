-- run_scores: the scores each run reads, one row per (run, response): every run in `runs`, complete or not.
-- Rule (SPEC "Scores"): a score is stored once per (model, settings key, response), by the run that
-- computed it (lake/scores/model=.../run=<that run>/, the `stored_scores` table); the settings key
-- covers the model's revision. A later run with the same model and settings key reuses it without a
-- copy, so a run reads what it computed, then the stored scores of its (model, settings_key) that
-- other runs computed (the latest computation first). Join `responses` for those of its benchmarks.
-- Lakes written before one-score-per-response keep a copy of every reused score in the run's own
-- folder (`reused`, part-reused.parquet): a run's own folder comes first, so they read as before.
-- reused: the score was computed by another run (scored_in_run: an earlier one, or one it waited for).
with candidates as (  -- the run's own scores and those its (model, settings_key) computed in other runs
    select
        runs.run_id,
        runs.model,
        stored.settings_key,
        stored.response_id,
        stored.score,
        stored.score_vector,
        stored.n_tokens,
        stored.truncated_tokens,
        case when stored.run_id = runs.run_id then coalesce(stored.reused, false) else true end as reused,
        stored.run_id as scored_in_run,
        case
            when stored.run_id = runs.run_id then 0
            else 1 + coalesce(stored.reused, false)::int
        end as source_rank
    from runs
    inner join stored_scores as stored
        on stored.model = runs.model
        and (stored.run_id = runs.run_id or stored.settings_key = runs.settings_key)
),

ranked as (
    select
        *,
        row_number() over (
            partition by run_id, response_id
            order by source_rank, scored_in_run desc
        ) as preference
    from candidates
),

final as (
    select * exclude (source_rank, preference)
    from ranked
    where preference = 1
)

select * from final
