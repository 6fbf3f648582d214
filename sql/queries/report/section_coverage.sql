-- every section's score with its coverage (the warehouse asset's leaderboard table): the score, or the
-- partial score over what was scored, and `complete` or `n/m subsets`.
select
    model,
    benchmark,
    section,
    coalesce(score, partial_score) as score,
    complete,
    case when complete then 'complete' else n_subsets || '/' || n_subsets_needed || ' subsets' end as coverage,
    n_examples as examples
from section_scores
order by benchmark, section, score desc
