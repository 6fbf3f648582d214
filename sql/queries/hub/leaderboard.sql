-- hub export, leaderboard.parquet: the model's leaderboard row.
select * from leaderboard where model = $model
