-- overall_scores: a benchmark family's headline number from the latest section scores (section_scores;
-- the latest runs of several benchmarks may combine, e.g. rewardbench + rewardbench-prior).
-- Rule (written once, in macros/rules.sql overall_scores; official RewardBench leaderboard, checked
-- against 105 published rows): the weighted mean of the sections with the catalog's overall weights:
-- (Chat + Chat Hard + Safety + Reasoning + 0.5 x Prior Sets) / 4.5 where Prior Sets has a score, else
-- the mean of the four. RMB: the mean of helpfulness/harmlessness x pairwise/best-of-N.
-- NULL unless every required section has a score (each covered in full); `missing` names those without.
{% import 'macros/rules.sql' as rules with context %}
with final as (
    {{ rules.overall_scores('section_scores', ['model']) }}
)

select * from final
