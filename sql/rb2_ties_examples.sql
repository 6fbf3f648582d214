-- rb2_ties_examples: the rows RewardBench 2's Ties score is computed from, per (model, run, benchmark,
-- subset, example) of every complete run, for subsets whose catalog rule is rb2-ties: sample_type (`ref`:
-- one correct answer, `tied`: several) and prompt_id from the example id (`ref:<n>`, `tied:<n>`);
-- accurate = worst correct > best incorrect; gap = worst correct - best incorrect; spread = best
-- correct - worst correct. Computed runs (example_outcomes_history: per-response scores, judges'
-- ratings included (judge_ratings: an invalid rating is upstream's -1, kept in the margins as there);
-- a pairwise judge gives none, so no rows) and imported RewardBench 2 per-example files
-- (imported_outcomes) alike. Examples with a
-- response left unscored are left out, as everywhere else. The score: rb2_ties_history.
with outcomes as (
    select model, run_id, ended_at, benchmark, subset, example_id, correct, margin, chosen_spread
    from example_outcomes_history
    where credit is not null  -- a pairwise judge gives no per-response score: it gets none
    union all by name
    -- imported RewardBench 2 per-example files: each row's margin and spread from its `scores`
    select outcomes.model, outcomes.run_id, runs.ended_at, outcomes.benchmark, outcomes.subset,
        outcomes.example_id, outcomes.correct, outcomes.margin, outcomes.chosen_spread
    from imported_outcomes as outcomes
    inner join runs_history as runs
        on runs.run_id = outcomes.run_id
        and runs.model = outcomes.model
        and runs.benchmark = outcomes.benchmark
    where runs.provenance = 'imported' and outcomes.correct is not null
),

final as (
    select
        outcomes.model,
        outcomes.run_id,
        outcomes.ended_at,
        outcomes.benchmark,
        outcomes.subset,
        split_part(split_part(outcomes.example_id, '/', -1), ':', 1) as sample_type,
        split_part(split_part(outcomes.example_id, '/', -1), ':', 2) as prompt_id,
        outcomes.correct::double as accurate,
        outcomes.margin as gap,
        outcomes.chosen_spread as spread
    from outcomes
    inner join subset_weights as weights
        on weights.benchmark = outcomes.benchmark
        and weights.subset = outcomes.subset
    where weights.rule = 'rb2-ties'
)

select * from final
