-- the leaderboard, every model (the CLI prints it, the warehouse asset shows it as metadata).
select * from leaderboard
