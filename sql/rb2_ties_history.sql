-- rb2_ties_history: RewardBench 2's Ties score per (model, run, benchmark, subset) for subsets whose
-- catalog rule is rb2-ties (rewardbench/utils.py process_single_model, scripts/run_v2.py).
-- Rule: example ids end in `ref:<n>` (one correct answer) or `tied:<n>` (several). Per prompt:
-- accurate = worst correct > best incorrect; spread = best correct - worst correct (tied prompts);
-- gap = worst correct - best incorrect. Over the prompts n present as both ref and tied:
-- score = 0.30 x mean(accurate, tied prompts) + 0.30 x mean(accurate, ref prompts)
--       + 0.20 x mean(gap_tied > spread) + 0.20 x mean(min(gap_ref, gap_tied) > spread)
--       + 0.01 x mean(tanh(min(gap_ref, gap_tied) / spread - 1)), a 0/0 counting 0 (numpy's nan_to_num;
--         x / 0 is +-inf, so tanh gives +-1).
-- Examples with a response left unscored (correct NULL) are left out, as everywhere else. Computed runs
-- (example_outcomes_history) and imported RewardBench 2 per-example files (imported_outcomes) alike.
with outcomes as (
    select model, run_id, ended_at, benchmark, subset, example_id, correct, margin, chosen_spread
    from example_outcomes_history
    where credit is not null  -- judges give no per-response score: they get none
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

ties_examples as (
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
),

accuracies as (
    select
        model,
        run_id,
        ended_at,
        benchmark,
        subset,
        count(*) as n,
        coalesce(avg(accurate) filter (where sample_type = 'tied'), 0) as tied_accuracy,
        coalesce(avg(accurate) filter (where sample_type = 'ref'), 0) as ref_accuracy
    from ties_examples
    group by model, run_id, ended_at, benchmark, subset
),

paired as (
    select
        tied.model,
        tied.run_id,
        tied.benchmark,
        tied.subset,
        tied.spread,
        tied.gap as gap_tied,
        least(ref.gap, tied.gap) as gap_hard
    from ties_examples as tied
    inner join ties_examples as ref
        on ref.run_id = tied.run_id
        and ref.benchmark = tied.benchmark
        and ref.subset = tied.subset
        and ref.prompt_id = tied.prompt_id
        and ref.sample_type = 'ref'
    where tied.sample_type = 'tied'
),

margins as (
    select
        model,
        run_id,
        benchmark,
        subset,
        avg((gap_tied > spread)::double) as correctness_preferred,
        avg((gap_hard > spread)::double) as correctness_preferred_hard,
        avg(
            case
                when spread <> 0 then tanh(gap_hard / spread - 1)
                when gap_hard > 0 then 1.0
                when gap_hard < 0 then -1.0
                else 0.0
            end
        ) as margin_score
    from paired
    group by model, run_id, benchmark, subset
),

final as (
    select
        accuracies.model,
        accuracies.run_id,
        accuracies.ended_at,
        accuracies.benchmark,
        accuracies.subset,
        accuracies.n,
        accuracies.tied_accuracy,
        accuracies.ref_accuracy,
        margins.correctness_preferred,
        margins.correctness_preferred_hard,
        margins.margin_score,
        0.30 * accuracies.tied_accuracy
        + 0.30 * accuracies.ref_accuracy
        + 0.20 * margins.correctness_preferred
        + 0.20 * margins.correctness_preferred_hard
        + 0.01 * margins.margin_score as score
    from accuracies
    left join margins using (model, run_id, benchmark, subset)
)

select * from final
