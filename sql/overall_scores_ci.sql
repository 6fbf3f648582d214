-- overall_scores_ci: overall_scores' score with a bootstrap 95% confidence interval.
-- Rule (stratified percentile bootstrap, stats.bootstrap_intervals): each resample combines the
-- resampled section scores (section_scores_ci) with overall_scores' rule: the weighted mean with the
-- catalog's section weights (RewardBench: 4 sections + 0.5 x Prior Sets, / 4.5 or / 4), NULL unless
-- every required section was scored. estimate = overall_scores.score.
-- Computed when the warehouse file is built (bootstrap_ci); empty in an in-memory warehouse.
with final as (
    select overall, column_name, model, n, estimate, ci_low, ci_high, n_resamples, seed, no_interval
    from bootstrap_ci
    where level = 'overall'
)

select * from final
