-- The outcome digest of each model: a sha256 of all that its bootstrap intervals (stats.py), the rank
-- groups (ranks.py) and the whole-table views (suspect_labels) read of it: its subset scores, the
-- correctness and credit of every example of its latest runs, and its RewardBench 2 Ties rows. Run ids
-- and times are left out, so a re-run that reproduced every outcome (every score reused) keeps its
-- digest, and the warehouse update skips recomputing what would come out the same (update.py).
with ties as (
    select rows.* exclude (run_id, ended_at)
    from rb2_ties_examples as rows
    inner join runs_history as runs
        on runs.run_id = rows.run_id and runs.model = rows.model and runs.benchmark = rows.benchmark
    where runs.is_latest
),

lines as (
    select model, 1 as part, row(benchmark, subset, n, accuracy, score)::varchar as line
    from subset_accuracy
    union all
    select model, 2 as part, row(benchmark, subset, example_id, correct, credit)::varchar as line
    from run_outcomes
    where is_latest
    union all
    select model, 3 as part, ties::varchar as line
    from ties
),

final as (
    select model, sha256(string_agg(line, chr(30) order by part, line)) as sha256
    from lines
    group by model
)

select * from final
