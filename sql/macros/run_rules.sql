{#- Two run rules, written once (example_outcomes_history, judge_outcomes_history and judge_ratings read
    them): which runs carry scores computed here (complete runs of provenance `computed` and the
    invariance audit's, `audit`; imported runs carry metrics only, an offline ensemble's scores come from
    ensemble_scores), and which runs are a judge's. -#}

{% macro scored_here(runs) -%}
{{ runs }}.provenance in ('computed', 'audit')
{%- endmacro %}

{% macro is_judge(runs) -%}
{#- Whether a run's model is a judge: a model_type that model_kinds marks judged. -#}
{{ runs }}.model_type in (select kind from model_kinds where judged)
{%- endmacro %}

{% macro judge_runs() -%}
{#- Every scored-here run of a judge (a model_type that model_kinds marks judged), one row per benchmark. -#}
select model, run_id, ended_at, benchmark
from runs_history
where {{ scored_here('runs_history') }} and {{ is_judge('runs_history') }}
{%- endmacro %}
