-- the models the report has a page for: every model on the leaderboard or the PRM leaderboard.
select model from leaderboard
union
select model from prm_leaderboard
order by 1
