-- bootstrap: percentile intervals [low, high] of the resampled subset scores, section scores and
-- overall scores (sections and overalls by the views' own rules: sql/macros/rules.sql), beside the
-- estimates of subset_accuracy (its score), section_scores and overall_scores; a section's or overall's
-- interval is empty where its score is. A published number without counts (an imported metrics file:
-- n NULL) cannot be resampled: it, and every section and overall that uses it, gets no interval, and
-- no_interval says so (one row per row of subset_accuracy, section_scores and overall_scores).
with subset_ci as (
    select model, benchmark, subset, quantile_cont(score, {{ low }}) as ci_low,
           quantile_cont(score, {{ high }}) as ci_high
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
    select
        scores.model,
        sections.overall,
        sum(scores.n_examples)::bigint as n,
        bool_or(scores.published and scores.score is not null) as published
    from section_scores as scores
    inner join sections using (benchmark, section)
    where sections.overall is not null
    group by all
),

subset_rows as (
    select 'subset' as level, view.model, view.benchmark, view.subset, view.n,
           view.score as estimate, ci.ci_low, ci.ci_high,
           view.score is not null and view.n is null as published
    from subset_accuracy as view
    left join subset_ci as ci using (model, benchmark, subset)
),

section_rows as (
    select 'section' as level, view.model, view.benchmark, view.section, view.n_examples as n,
           view.score as estimate, ci.ci_low, ci.ci_high, view.score is not null and view.published as published
    from section_scores as view
    left join section_ci as ci using (model, benchmark, section)
),

overall_rows as (
    select 'overall' as level, view.model, view.overall, view.column_name, overall_n.n,
           view.score as estimate, ci.ci_low, ci.ci_high,
           view.score is not null and coalesce(overall_n.published, false) as published
    from overall_scores as view
    left join overall_ci as ci using (model, overall)
    left join overall_n using (model, overall)
),

final as (
    select
        * exclude (published) replace (
            case when estimate is not null and not published then ci_low end as ci_low,
            case when estimate is not null and not published then ci_high end as ci_high
        ),
        case when published then '{{ published_reason }}' end as no_interval
    from (
        select * from subset_rows
        union all by name
        select * from section_rows
        union all by name
        select * from overall_rows
    )
)

select * from final
