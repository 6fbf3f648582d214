-- the leaderboard page's process reward models (step-level benchmarks).
select * from prm_leaderboard order by model
