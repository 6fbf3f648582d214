-- a judge's run, for the scores asset's checks: the examples it should have judged (those of the
-- benchmarks the run is latest for), those it judged, and its NaN judge scores (the pairwise judge's own).
with to_judge as (
    select distinct examples.benchmark, examples.example_id
    from examples
    inner join latest_runs as latest on latest.benchmark = examples.benchmark and latest.model = $model
    where latest.run_id = $run
),

judged as (
    select distinct benchmark, example_id from judgments where run_id = $run
)

select
    (select count(*) from to_judge) as to_score,
    (select count(*) from judged) as scored,
    (select count(*) from judgments where run_id = $run and isnan(judge_score)) as nan_scores
