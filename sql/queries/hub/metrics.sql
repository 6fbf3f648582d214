-- hub export, metrics.parquet: the model's subset accuracies (subset_accuracy) with their sections.
select accuracy.benchmark, accuracy.subset, weights.section, accuracy.n, accuracy.accuracy
from subset_accuracy as accuracy
left join subset_weights as weights
    on weights.benchmark = accuracy.benchmark
    and weights.subset = accuracy.subset
where accuracy.model = $model
order by accuracy.benchmark, accuracy.subset
