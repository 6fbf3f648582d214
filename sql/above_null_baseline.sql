-- above_null_baseline: each model's subset accuracy against the best null baseline on that subset.
-- Null baselines are runs with model_type = 'baseline' (stats.score_null_baselines: longer response
-- wins, shorter wins, random, first position wins), scored through the normal lake, so they have
-- subset_accuracy rows like any model. Rule: best_null_accuracy = the highest accuracy among the
-- baselines scored on the subset (ties: the first model id); margin = accuracy - best_null_accuracy;
-- a model that does not beat every null rule on a subset has margin <= 0 there.
-- Rules that read the stored position (settings.reads = 'position': "first position wins") are left
-- out of the comparison: the lake stores every chosen response first (normalize), so that rule scores
-- 1.0 wherever there is one chosen response; it measures the layout (a position-bias audit for judges
-- that would see the stored order), not a null model. It stays in subset_accuracy and the leaderboard.
-- Accuracies only: a subset whose score is not an accuracy (rb2-ties: accuracy NULL) is not compared.
with accuracy as (
    select
        accuracy.model,
        accuracy.benchmark,
        accuracy.subset,
        accuracy.n,
        accuracy.accuracy,
        coalesce(runs.model_type = 'baseline', false) as is_baseline,
        coalesce(json_extract_string(runs.settings, '$.reads') = 'position', false) as reads_position
    from subset_accuracy as accuracy
    inner join runs_history as runs
        on runs.model = accuracy.model
        and runs.benchmark = accuracy.benchmark
        and runs.is_latest
    where accuracy.n > 0 and accuracy.accuracy is not null
),

ranked_nulls as (
    select
        benchmark,
        subset,
        model,
        accuracy,
        row_number() over (partition by benchmark, subset order by accuracy desc, model) as standing
    from accuracy
    where is_baseline and not reads_position
),

final as (
    select
        models.model,
        models.benchmark,
        models.subset,
        models.n,
        models.accuracy,
        nulls.accuracy as best_null_accuracy,
        nulls.model as best_null_model,
        models.accuracy - nulls.accuracy as margin
    from accuracy as models
    inner join ranked_nulls as nulls
        on nulls.benchmark = models.benchmark
        and nulls.subset = models.subset
        and nulls.standing = 1
    where not models.is_baseline
)

select * from final
