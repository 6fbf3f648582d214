-- the leaderboard page's intervals: every overall and section score's bootstrap 95% interval, keyed by
-- its leaderboard column (a section's column from the catalog's `sections`).
select model, column_name, ci_low, ci_high from overall_scores_ci
union all
select ci.model, sections.column_name, ci.ci_low, ci.ci_high
from section_scores_ci as ci
inner join sections on sections.benchmark = ci.benchmark and sections.section = ci.section
