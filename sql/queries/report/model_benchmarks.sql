-- the benchmarks a model ($model) has subset accuracies on (its page shows their suspect examples).
select distinct benchmark from subset_accuracy where model = $model
