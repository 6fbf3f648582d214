"""Kubernetes pod settings for one scores run (one model partition) under the K8sRunLauncher."""

import json
import re

# The tag the K8sRunLauncher reads from a run (dagster_k8s.job.USER_DEFINED_K8S_CONFIG_KEY).
K8S_CONFIG_TAG = "dagster-k8s/config"
GPU_RESOURCE = "nvidia.com/gpu"
# Kubernetes resource quantities: a number with an optional SI or binary suffix ("24Gi", "500m", "4").
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def _quantity(value: str, name: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"{name}={value!r} is not a Kubernetes quantity (e.g. '24Gi', '500m', '8')")
    return value


def k8s_run_tags(gpus: int, memory: str | None = None, cpu: str | None = None) -> dict[str, str]:
    """The `dagster-k8s/config` run tag that gives a scores run's pod `gpus` GPUs, and memory / cpu.

    GPUs are an extended resource: Kubernetes requires the limit and takes the request equal to it,
    so a pod asking for one GPU is only placed on a node with a free one and a one-GPU node never runs
    two scoring pods. Memory is requested and limited alike (a reward model that outgrows it is
    killed, not left to starve the node); cpu is only requested, since a cpu limit throttles
    tokenization. The toleration lets the pod onto GPU nodes tainted `nvidia.com/gpu` (GKE, EKS and
    the NVIDIA GPU operator taint them). The value is JSON, as run tags are strings.
    """
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0:
        raise ValueError(f"gpus must be a whole number >= 0, got {gpus!r}")
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if gpus:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(gpus)
    if memory is not None:
        requests["memory"] = limits["memory"] = _quantity(memory, "memory")
    if cpu is not None:
        requests["cpu"] = _quantity(cpu, "cpu")
    resources = {name: values for name, values in (("requests", requests), ("limits", limits)) if values}
    config: dict = {"container_config": {"resources": resources}} if resources else {}
    if gpus:
        config["pod_spec_config"] = {
            "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
        }
    return {K8S_CONFIG_TAG: json.dumps(config, sort_keys=True)}


def model_run_tags(model_id: str, memory: str | None = None, cpu: str | None = None) -> dict[str, str]:
    """The tags of one model's scores run on Kubernetes: its partition, and the GPUs its entry asks for."""
    from rb_pipeline.catalog.entries import load_models
    from rb_pipeline.core.paths import encode_model_id

    entry = load_models()[model_id]
    return {"dagster/partition": encode_model_id(model_id), **k8s_run_tags(entry.gpus, memory, cpu)}
