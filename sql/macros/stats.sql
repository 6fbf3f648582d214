{#- The tests the comparison views share, written once: McNemar's exact test (paired_comparison,
    reproduction_diff) and Holm's step-down correction (the same two, and nothing else). -#}

{% macro mcnemar_p_value(a_only, b_only) -%}
{#- McNemar's exact test (two-sided): under H0 each discordant example is A's or B's with probability
    1/2, so p = min(1, 2 x P(X <= min(a_only, b_only))), X ~ Binomial(a_only + b_only, 1/2), summed in
    log space (lgamma) for large counts; p = 1 when there is no discordant example. -#}
case
    when {{ a_only }} + {{ b_only }} = 0 then 1.0
    else least(
        1.0,
        2 * list_sum([
            exp(
                lgamma({{ a_only }} + {{ b_only }} + 1) - lgamma(k + 1) - lgamma({{ a_only }} + {{ b_only }} - k + 1)
                - ({{ a_only }} + {{ b_only }}) * ln(2)
            )
            for k in range(0, least({{ a_only }}, {{ b_only }}) + 1)
        ])
    )
end
{%- endmacro %}

{% macro holm_adjusted(relation, p_value, family, tiebreak) -%}
{#- `relation` with p_adjusted: Holm's step-down correction (family-wise error) within each `family`
    (a list of columns): the running maximum of min(1, (m - rank + 1) x p) in ascending order of p
    (ties in p ordered by `tiebreak`), m the family's size. -#}
with ranked as (
    select
        *,
        row_number() over (partition by {{ family | join(', ') }} order by {{ p_value }}, {{ tiebreak }}) as p_rank,
        count(*) over (partition by {{ family | join(', ') }}) as family_size
    from {{ relation }}
)

select
    * exclude (p_rank, family_size),
    max(least(1.0, (family_size - p_rank + 1) * {{ p_value }})) over (
        partition by {{ family | join(', ') }} order by p_rank
    ) as p_adjusted
from ranked
{%- endmacro %}
