-- the model's per-subset accuracies (the scores asset's metadata).
select benchmark, subset, n, accuracy from subset_accuracy where model = $model order by benchmark, subset
