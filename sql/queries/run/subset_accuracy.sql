-- the model's per-subset scores (the scores asset's metadata): n, accuracy and score (the subset's score
-- by its rule: the accuracy, or rb2-ties' Ties score, whose accuracy is NULL).
select benchmark, subset, n, accuracy, score from subset_accuracy where model = $model order by benchmark, subset
