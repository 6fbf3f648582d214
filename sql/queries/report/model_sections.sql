-- a model page's sections ($model): the score with its bootstrap interval, the partial score over what
-- was scored and what is missing.
select
    scores.benchmark,
    scores.section,
    scores.score,
    ci.ci_low,
    ci.ci_high,
    scores.partial_score,
    scores.missing_brief
from section_scores as scores
left join section_scores_ci as ci using (model, benchmark, section)
where scores.model = $model
order by 1, 2
