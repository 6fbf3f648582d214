-- subset_accuracy_ci: subset_accuracy with a bootstrap 95% confidence interval.
-- Rule (percentile bootstrap, stats.bootstrap_intervals): resample the subset's n examples with
-- replacement; the resampled correct count is Binomial(n, accuracy), drawn directly (fixed seed,
-- one stream per model x benchmark x subset); ci_low / ci_high = the 2.5% / 97.5% quantiles of the
-- resampled accuracies. Imported per-subset metrics are resampled the same way from (n, accuracy).
-- Computed when the warehouse file is built (bootstrap_ci); empty in an in-memory warehouse.
with final as (
    select model, benchmark, subset, n, estimate, ci_low, ci_high, n_resamples, seed
    from bootstrap_ci
    where level = 'subset'
)

select * from final
