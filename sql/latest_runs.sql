-- latest_runs: for each (model, benchmark), the most recent *complete* computed run that covered it.
-- Rule (SPEC "Scores"): history is append-only; views read the latest complete computed run per
-- model (imported runs carry no scores; they feed subset_accuracy through imported_metrics); an
-- offline ensemble's run (provenance `ensemble`, runs_history) is its latest too.
-- A filter of runs_history: a computed run marked is_latest is the most recent computed one, since
-- runs_history prefers computed runs over imported ones.
with final as (
    select model, benchmark, run_id, ended_at
    from runs_history
    where is_latest and provenance in ('computed', 'ensemble')
)

select * from final
