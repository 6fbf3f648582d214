"""The bottom layer: paths, storage, the lake's files, every table's schema, ids, scorer settings and the
run record. Imports nothing else of rb_pipeline."""
