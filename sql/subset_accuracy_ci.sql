-- subset_accuracy_ci: subset_accuracy's score (the accuracy, or a score rule's score: RewardBench 2's Ties)
-- with a bootstrap 95% confidence interval; one row per subset_accuracy row.
-- Rule (percentile bootstrap, stats.bootstrap_intervals; fixed seed, one stream per model x benchmark x
-- subset): resample the subset's examples with replacement and take the mean of their credits (drawn as
-- one multinomial over the distinct credits, so a judge's 0.5 or RewardBench 2's 1/k is resampled as
-- it is); RewardBench 2's Ties resamples its prompts (ref and tied rows together) and recomputes the
-- Ties score. ci_low / ci_high = the 2.5% / 97.5% quantiles of the resampled scores. Imported
-- per-subset numbers with a count are rebuilt as round(accuracy x n) examples right and the rest wrong;
-- a metrics file's numbers have no count (n NULL: published metrics) and get no interval: ci_low and
-- ci_high NULL, no_interval = "published metrics: counts unknown, nothing to resample"
-- (stats.PUBLISHED_NO_INTERVAL; so do the sections and overalls using them, section_scores_ci and
-- overall_scores_ci).
-- Computed when the warehouse file is built (bootstrap_ci); empty in an in-memory warehouse.
with final as (
    select model, benchmark, subset, n, estimate, ci_low, ci_high, n_resamples, seed, no_interval
    from bootstrap_ci
    where level = 'subset'
)

select * from final
