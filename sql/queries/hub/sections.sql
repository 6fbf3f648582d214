-- hub export, sections.parquet: the model's section scores (section_scores).
select * exclude (model) from section_scores where model = $model order by benchmark, section
