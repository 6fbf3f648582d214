-- rank groups: each model's resampled overall scores, from its resampled subset accuracies (the table
-- `resampled`) by the views' own section and overall rules (sql/macros/rules.sql).
{% import 'macros/rules.sql' as rules with context %}
with rank_sections as (
    {{ rules.section_scores(resampled, ['model', 'resample']) }}
)

select model, column_name, resample, score
from ({{ rules.overall_scores('rank_sections', ['model', 'resample']) }})
where score is not null
