-- the lake's row counts (the warehouse asset's metadata): counts the files' footers answer (a
-- `count(*) from scores` would resolve every run's scores: 30 s at 11M rows).
select
    (select count(*) from examples) as examples,
    (select count(*) from responses) as responses,
    (select count(*) from stored_scores) as stored_scores,
    (select count(*) from runs) as runs,
    (select count(*) from rejects) as rejects
