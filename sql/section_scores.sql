-- section_scores: section_scores_history for the run subset_accuracy reads per (model, benchmark)
-- (runs_history's is_latest), so section_scores always agrees with subset_accuracy.
-- Rule (written once, in macros/rules.sql section_scores): the catalog's aggregation per section
-- (RewardBench: prompt-weighted mean; Prior Sets and RMB: mean over subsets / scenarios), shown only
-- when every subset it needs was scored in full; else score is NULL and `missing` names what is short.
-- item_level_score = sum(correct) / sum(n): every item counts once (the other RMB reading).
with final as (
    select
        history.model,
        history.benchmark,
        history.section,
        history.score,
        history.item_level_score,
        history.n_subsets,
        history.n_examples,
        history.partial_score,
        history.complete,
        history.n_subsets_needed,
        history.missing,
        history.missing_brief,
        history.published  -- from published metrics (counts unknown: an imported metrics file)
    from section_scores_history as history
    inner join runs_history as runs
        on runs.model = history.model
        and runs.benchmark = history.benchmark
        and runs.run_id = history.run_id
    where runs.is_latest
)

select * from final
