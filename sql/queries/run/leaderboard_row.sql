-- the model's leaderboard row (the scores asset's metadata).
select * from leaderboard where model = $model
