-- overall_scores_history: overall_scores' rule per (model, run) of every complete run, keyed by
-- (model, run_id, ended_at): the headline number from the sections that run scored. (The latest
-- overall_scores may combine the latest runs of several benchmarks, so it is not a filter of this.)
-- Rule: macros/rules.sql overall_scores (the same macro as overall_scores): weighted mean of the
-- sections with the catalog's overall weights, NULL unless every required section has a score.
{% import 'macros/rules.sql' as rules with context %}
with final as (
    {{ rules.overall_scores('section_scores_history', ['model', 'run_id', 'ended_at', 'provenance']) }}
)

select * from final
