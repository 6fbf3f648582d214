-- section_scores_history: section scores per (model, run, benchmark, section) of every complete run,
-- keyed by (model, run_id, ended_at). section_scores is its latest-run filter (a section lies within one
-- benchmark, so the latest run per (model, benchmark) gives the same numbers).
-- Rule (macros/rules.sql section_scores, written once): the section's catalog aggregation
-- (sections.aggregation, named in catalog.AGGREGATIONS):
--   weighted-mean: sum(accuracy x weight) / sum(weight), RewardBench v1's prompt-weighted sections
--     (weight = the subset's example count, math-prm 984; analysis/get_benchmark_results.py);
--   scenario-mean: the unweighted mean over subsets: RMB's goals (the mean over scenarios) and
--     RewardBench's Prior Sets (np.nanmean over the four sets that were run);
--   item-level: sum(accuracy x n) / sum(n), reported for every section as item_level_score.
-- Coverage (SPEC.md): score is shown only when the section is covered (needs = all: every subset scored
-- in full, n >= the catalog's expected rows; needs = any: the subsets that were run, each in full), else
-- NULL, with partial_score (the same aggregation over what was scored) and missing
-- (`subset (scored/expected)`) beside it. A subset without a count (imported metrics of a subset whose
-- size the catalog does not know) is never dropped: it counts as scored in full.
-- Weights and sizes come from the catalog (`subset_weights`, `sections`); no subset is named here.
{% import 'macros/rules.sql' as rules with context %}
with final as (
    {{ rules.section_scores('subset_accuracy_history', ['model', 'run_id', 'ended_at', 'provenance']) }}
)

select * from final
