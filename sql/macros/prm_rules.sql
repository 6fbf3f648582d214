{#- The process-reward rules written once (sql/prm_*.sql import them). -#}

{% macro upstream_f1(hits, false_hits, misses) -%}
{#- PRMBench task.py:200-235: P = hits / (hits + false_hits), R = hits / (hits + misses),
    F1 = 2PR / (P + R), each -1 when its denominator is 0 (F1 too, as upstream). F1 takes (TP, FP, FN),
    negative F1 (TN, FN, FP). -#}
(
    case
        when (case when {{ hits }} + {{ false_hits }} <> 0 then {{ hits }} / ({{ hits }} + {{ false_hits }}) else -1 end)
            + (case when {{ hits }} + {{ misses }} <> 0 then {{ hits }} / ({{ hits }} + {{ misses }}) else -1 end) <> 0
        then 2 * (case when {{ hits }} + {{ false_hits }} <> 0 then {{ hits }} / ({{ hits }} + {{ false_hits }}) else -1 end)
            * (case when {{ hits }} + {{ misses }} <> 0 then {{ hits }} / ({{ hits }} + {{ misses }}) else -1 end)
            / ((case when {{ hits }} + {{ false_hits }} <> 0 then {{ hits }} / ({{ hits }} + {{ false_hits }}) else -1 end)
            + (case when {{ hits }} + {{ misses }} <> 0 then {{ hits }} / ({{ hits }} + {{ misses }}) else -1 end))
        else -1
    end
)
{%- endmacro %}

{% macro harmonic_mean(a, b) -%}
{#- ProcessBench run_eval.py:127: F1 = 2ab / (a + b) of the two accuracies; 0 when both are 0 (upstream
    divides by zero there); NULL when either is (a subset without erroneous or without correct solutions). -#}
case when {{ a }} + {{ b }} > 0 then 2 * {{ a }} * {{ b }} / ({{ a }} + {{ b }}) when {{ a }} + {{ b }} = 0 then 0 end
{%- endmacro %}
