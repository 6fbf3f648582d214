"""Model kinds: the scorer and judge registries and the built-in kinds (classifier, dpo, judges).
Above the catalog; independent of sources. `loader` imports every built-in kind, filling the registries."""
