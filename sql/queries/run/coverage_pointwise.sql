-- a pointwise model's run, for the scores asset's checks: the responses it should have scored (every
-- response of the benchmarks of the model's latest runs), those it scored, and its NaN scores.
select
    count(distinct responses.response_id) as to_score,
    count(distinct scores.response_id) as scored,
    count(distinct scores.response_id) filter (where isnan(scores.score)) as nan_scores
from responses
inner join latest_runs as latest on latest.benchmark = responses.benchmark and latest.model = $model
left join run_scores as scores on scores.run_id = latest.run_id and scores.response_id = responses.response_id
