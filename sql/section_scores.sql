-- section_scores: section_scores_history for the run subset_accuracy reads per (model, benchmark)
-- (runs_history's is_latest), so section_scores always agrees with subset_accuracy.
-- Rule (written once, in macros/rules.sql section_scores): the catalog's aggregation per section
-- (RewardBench: prompt-weighted mean; Prior Sets and RMB: mean over subsets / scenarios), shown only
-- when every subset it needs was scored in full; else score is NULL and `missing` names what is short.
-- item_level_score = sum(correct) / sum(n): every item counts once (the other RMB reading).
{% import 'macros/latest.sql' as latest %}
with final as (
    {{ latest.latest_rows('section_scores_history', ['model', 'benchmark', 'section', 'score', 'item_level_score', 'n_subsets', 'n_examples', 'partial_score', 'complete', 'n_subsets_needed', 'missing', 'missing_brief', 'published']) }}
)

select * from final
