-- each section's score over the rows that were scored (section_scores.partial_score), with how many of
-- its subsets were: what the CLI prints for runs on part of the data, whose leaderboard scores stay empty.
select
    model,
    benchmark,
    section,
    partial_score,
    n_subsets || '/' || n_subsets_needed as subsets,
    n_examples
from section_scores
order by benchmark, section
