-- hub export, metrics.parquet: the model's subset scores (subset_accuracy: n, accuracy, and score = the
-- subset's score by its rule, its accuracy but for rb2-ties) with their sections.
select accuracy.benchmark, accuracy.subset, weights.section, accuracy.n, accuracy.accuracy, accuracy.score
from subset_accuracy as accuracy
left join subset_weights as weights
    on weights.benchmark = accuracy.benchmark
    and weights.subset = accuracy.subset
where accuracy.model = $model
order by accuracy.benchmark, accuracy.subset
