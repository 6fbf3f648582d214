-- section_scores_history: section_scores' rule per (model, run, benchmark, section) of every complete
-- run, keyed by (model, run_id, ended_at). section_scores is its latest-run filter (a section lies
-- within one benchmark, so the latest run per (model, benchmark) gives the same numbers).
-- Rule: score = sum(accuracy x weight) / sum(weight) over the section's subsets that were scored.
--   RewardBench v1: weight = the subset's example count, math-prm 984 (prompt-weighted sections,
--   analysis/get_benchmark_results.py); prior sets: weight 1 on the four sets in the mean.
--   RMB: weight 1 per scenario, i.e. a goal's score is the mean over its scenarios (the paper's rule).
-- item_level_score = sum(correct) / sum(n): every item counts once (the other RMB reading).
-- Weights come from the catalog (`subset_weights`); no subset is named here.
with weighted as (
    select
        accuracy.model,
        accuracy.run_id,
        accuracy.ended_at,
        accuracy.provenance,
        accuracy.benchmark,
        weights.section,
        accuracy.accuracy,
        accuracy.n,
        weights.weight
    from subset_accuracy_history as accuracy
    inner join subset_weights as weights
        on weights.benchmark = accuracy.benchmark
        and weights.subset = accuracy.subset
    where weights.section is not null and weights.weight > 0 and accuracy.n > 0
),

final as (
    select
        model,
        run_id,
        ended_at,
        provenance,
        benchmark,
        section,
        sum(accuracy * weight) / sum(weight) as score,
        sum(accuracy * n) / sum(n) as item_level_score,
        count(*) as n_subsets,
        sum(n)::bigint as n_examples
    from weighted
    group by model, run_id, ended_at, provenance, benchmark, section
)

select * from final
