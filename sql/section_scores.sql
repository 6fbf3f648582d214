-- section_scores: the catalog's weighted mean of subset accuracies per section.
-- Rule: score = sum(accuracy x weight) / sum(weight) over the section's subsets that were scored.
--   RewardBench v1: weight = the subset's example count, math-prm 984 (prompt-weighted sections,
--   analysis/get_benchmark_results.py); prior sets: weight 1 on the four sets in the mean.
--   RMB: weight 1 per scenario, i.e. a goal's score is the mean over its scenarios (the paper's rule).
-- item_level_score = sum(correct) / sum(n): every item counts once (the other RMB reading).
-- Weights come from the catalog (`subset_weights`); no subset is named here.
-- The rule lives in section_scores_history; this view keeps the run subset_accuracy reads
-- (runs_history's is_latest), so section_scores always agrees with subset_accuracy.
with final as (
    select
        history.model,
        history.benchmark,
        history.section,
        history.score,
        history.item_level_score,
        history.n_subsets,
        history.n_examples
    from section_scores_history as history
    inner join runs_history as runs
        on runs.model = history.model
        and runs.benchmark = history.benchmark
        and runs.run_id = history.run_id
    where runs.is_latest
)

select * from final
