-- section_scores_ci: section_scores' score with a bootstrap 95% confidence interval.
-- Rule (stratified percentile bootstrap, stats.bootstrap_intervals): each resample combines the
-- subsets' resampled accuracies (examples resampled within subsets, see subset_accuracy_ci) with
-- section_scores' catalog weights: sum(accuracy x weight) / sum(weight) over the scored subsets.
-- estimate = section_scores.score; ci_low / ci_high = the 2.5% / 97.5% quantiles.
-- Computed when the warehouse file is built (bootstrap_ci); empty in an in-memory warehouse.
with final as (
    select model, benchmark, section, n, estimate, ci_low, ci_high, n_resamples, seed, no_interval
    from bootstrap_ci
    where level = 'section'
)

select * from final
