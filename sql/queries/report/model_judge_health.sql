-- a model page's judge health ($model; empty for a pointwise model).
select * exclude (model) from judge_health where model = $model order by 2, 3
