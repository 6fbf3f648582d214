-- `rb-pipeline suspects`: the suspect labels (suspect_labels: contradicted, scored by at least the
-- catalog's min_models models, or $min_models where `custom_threshold`), of $benchmark or of every
-- benchmark (NULL), most contradicted first, with the example's prompt and its chosen and rejected texts.
select
    labels.benchmark,
    labels.subset,
    labels.example_id,
    labels.n_models,
    labels.n_wrong,
    labels.weighted_wrong,
    to_json(any_value(examples.prompt)) as prompt,
    list(responses.text order by responses.position) filter (where responses.label = 'chosen') as chosen,
    list(responses.text order by responses.position) filter (where responses.label = 'rejected') as rejected
from suspect_labels as labels
inner join examples
    on examples.benchmark = labels.benchmark and examples.example_id = labels.example_id
inner join responses
    on responses.benchmark = labels.benchmark and responses.example_id = labels.example_id
where labels.contradicted
    and labels.n_models >= {{ "$min_models" if custom_threshold else "min_models" }}
    and ($benchmark is null or labels.benchmark = $benchmark)
group by all
order by labels.weighted_wrong desc, labels.benchmark, labels.example_id
