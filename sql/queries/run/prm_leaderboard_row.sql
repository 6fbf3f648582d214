-- a process reward model's row of the PRM leaderboard (the scores asset's metadata).
select * from prm_leaderboard where model = $model
