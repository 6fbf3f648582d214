-- bootstrap: percentile intervals [low, high] of the resampled subset accuracies, section scores and
-- overall scores (sections and overalls by the views' own rules: sql/macros/rules.sql), beside the
-- estimates of subset_accuracy, section_scores and overall_scores; a section's or overall's interval
-- is empty where its score is.
with subset_ci as (
    select model, benchmark, subset, quantile_cont(accuracy, {{ low }}) as ci_low,
           quantile_cont(accuracy, {{ high }}) as ci_high
    from {{ resampled_subsets }} group by all
),

section_ci as (
    select model, benchmark, section, quantile_cont(score, {{ low }}) as ci_low,
           quantile_cont(score, {{ high }}) as ci_high
    from {{ resampled_sections }} group by all
),

overall_ci as (
    select model, overall, quantile_cont(score, {{ low }}) as ci_low,
           quantile_cont(score, {{ high }}) as ci_high
    from ({{ resampled_overalls }}) group by all
),

overall_n as (
    select scores.model, sections.overall, sum(scores.n_examples)::bigint as n
    from section_scores as scores
    inner join sections using (benchmark, section)
    where sections.overall is not null
    group by all
)

select 'subset' as level, view.model, view.benchmark, view.subset, view.n,
       view.accuracy as estimate, ci.ci_low, ci.ci_high
from subset_accuracy as view
inner join subset_ci as ci using (model, benchmark, subset)
union all by name
select 'section' as level, view.model, view.benchmark, view.section, view.n_examples as n,
       view.score as estimate, case when view.score is not null then ci.ci_low end as ci_low,
       case when view.score is not null then ci.ci_high end as ci_high
from section_scores as view
inner join section_ci as ci using (model, benchmark, section)
union all by name
select 'overall' as level, view.model, view.overall, view.column_name, overall_n.n,
       view.score as estimate, case when view.score is not null then ci.ci_low end as ci_low,
       case when view.score is not null then ci.ci_high end as ci_high
from overall_scores as view
inner join overall_ci as ci using (model, overall)
left join overall_n using (model, overall)
