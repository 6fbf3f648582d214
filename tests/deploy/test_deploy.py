"""Deployment configs (deploy/) load and validate against the installed Dagster, dagster-k8s and
dagster-celery, through their own validators. Validation only: no cluster, no broker, no network.
Each check also runs on a deliberately broken copy, which must fail."""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import re
import secrets
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import dagster
import pytest
import yaml
from dagster import DagsterRun, validate_run_config
from dagster._config import validate_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.utils import make_new_run_id
from dagster._serdes.config_class import ConfigurableClassData
from dagster_shared.check import CheckError

from rb_pipeline.core.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
K8S_INSTANCE = DEPLOY / "k8s" / "dagster.yaml"
K8S_VALUES = DEPLOY / "k8s" / "values.yaml"
CELERY_INSTANCE = DEPLOY / "celery" / "dagster.yaml"
CELERY_RUN_CONFIG = DEPLOY / "celery" / "run_config.yaml"
README = DEPLOY / "README.md"

# Any of these is how a validator says no.
INVALID = (
    DagsterInvalidConfigError,
    CheckError,
    AssertionError,
    ImportError,
    AttributeError,
    TypeError,
    ValueError,
)

# The chart's own key names for dagster/dagster 1.13.x (helm/dagster/schema/schema/charts/...: values.py,
# run_launcher.py K8sRunLauncherConfig / RunK8sConfig, user_deployments.py UserDeployment, concurrency.py).
# values.schema.json itself is not available offline; these sets catch a misspelt key, which Helm would
# otherwise take silently.
CHART_TOP_LEVEL = {
    "global", "nameOverride", "fullnameOverride", "rbacEnabled", "dagsterWebserver",
    "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress", "imagePullSecrets",
    "computeLogManager", "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate",
    "telemetry", "serviceAccount", "retention", "concurrency", "additionalInstanceConfig",
}  # fmt: skip
CHART_USER_DEPLOYMENT = {
    "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
    "deploymentNamespace", "port", "replicaCount", "env", "envConfigMaps", "envSecrets", "annotations",
    "nodeSelector", "affinity", "tolerations", "podSecurityContext", "securityContext", "resources",
    "livenessProbe", "readinessProbe", "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName",
    "initContainers", "sidecarContainers", "deploymentStrategy",
}  # fmt: skip
CHART_CONCURRENCY = {"enabled": None, "pools": {"defaultLimit", "granularity", "opGranularityRunBuffer"},
                     "runs": {"maxConcurrentRuns", "tagConcurrencyLimits"}}  # fmt: skip
# How the chart's _run-launcher.tpl writes runLauncher.config.k8sRunLauncher into K8sRunLauncher config.
HELM_TO_LAUNCHER = {
    "image": "job_image", "imagePullPolicy": "image_pull_policy", "jobNamespace": "job_namespace",
    "loadInclusterConfig": "load_incluster_config", "kubeconfigFile": "kubeconfig_file",
    "envConfigMaps": "env_config_maps", "envSecrets": "env_secrets", "envVars": "env_vars",
    "volumeMounts": "volume_mounts", "volumes": "volumes", "labels": "labels",
    "failPodOnRunFailure": "fail_pod_on_run_failure", "resources": "resources",
    "schedulerName": "scheduler_name", "securityContext": "security_context",
    "runK8sConfig": "run_k8s_config",
}  # fmt: skip
HELM_TO_RUN_K8S_CONFIG = {
    "containerConfig": "container_config", "podSpecConfig": "pod_spec_config",
    "podTemplateSpecMetadata": "pod_template_spec_metadata", "jobSpecConfig": "job_spec_config",
    "jobMetadata": "job_metadata",
}  # fmt: skip


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _class_data(section: dict) -> ConfigurableClassData:
    """An instance section as Dagster reads it (`dagster.core...` modules map to `dagster._core...`)."""
    return ConfigurableClassData(
        section["module"], section["class"], yaml.safe_dump(section.get("config") or {})
    )


def _class_of(section: dict) -> type:
    data = _class_data(section)
    return getattr(importlib.import_module(data.module_name), data.class_name)


def _rehydrate(section: dict, as_type: type) -> Any:
    """Build the configured object as DagsterInstance does, checking its config against its schema."""
    return _class_data(section).rehydrate(as_type=as_type)


@contextmanager
def _offline_k8s() -> Iterator[None]:
    """K8sRunLauncher loads a kube config and builds an API client in __init__; neither exists here."""
    import dagster_k8s.launcher as launcher

    with (
        mock.patch.object(launcher, "load_kubernetes_config"),
        mock.patch.object(launcher.DagsterKubernetesClient, "production_client"),
    ):
        yield


def validate_instance(config: dict, tmp_path: Path) -> dict:
    """Validate an instance config as DagsterInstance does on load (schema and concurrency rules), then
    its run launcher and run coordinator against their own classes' schemas. Returns the validated config."""
    from dagster_k8s import K8sRunLauncher

    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    validated, _ = dagster_instance_config(str(home))

    launcher = _class_of(config["run_launcher"])
    if launcher is K8sRunLauncher:
        result = validate_config(K8sRunLauncher.config_type(), config["run_launcher"].get("config") or {})
        if not result.success:
            raise DagsterInvalidConfigError("run_launcher config", result.errors, config["run_launcher"])
        with _offline_k8s():
            _rehydrate(config["run_launcher"], K8sRunLauncher)
    else:
        assert launcher is DefaultRunLauncher, launcher
        _rehydrate(config["run_launcher"], DefaultRunLauncher)
    assert _class_of(config["run_coordinator"]) is QueuedRunCoordinator
    _rehydrate(config["run_coordinator"], QueuedRunCoordinator)
    return validated


def _assert_scoring_pool_limited(validated: dict) -> None:
    pools = validated["concurrency"]["pools"]
    assert isinstance(pools["default_limit"], int) and pools["default_limit"] >= 1, pools
    assert pools["granularity"] == "run"  # queued in Dagster, not holding a pod or worker while it waits
    assert validated["telemetry"]["enabled"] is False


def test_scoring_is_the_code_locations_only_pool():
    """The instances' `default_limit` is the `scoring` limit only because no other pool exists."""
    from assets.definitions import defs

    pools = {
        assets_def.op.pool
        for assets_def in defs.resolve_asset_graph().assets_defs
        if assets_def.is_executable and assets_def.op.pool
    }
    assert pools == {"scoring"}


# --- (a) instance configs ---------------------------------------------------------------------------


def test_k8s_instance_validates(tmp_path):
    config = _load(K8S_INSTANCE)
    validated = validate_instance(config, tmp_path)
    assert (validated["run_launcher"]["module"], validated["run_launcher"]["class"]) == (
        "dagster_k8s",
        "K8sRunLauncher",
    )
    _assert_scoring_pool_limited(validated)
    launcher_config = config["run_launcher"]["config"]
    assert "rb-pipeline-hf" in launcher_config["env_secrets"]
    assert not any(var.startswith("HF_TOKEN=") for var in launcher_config.get("env_vars", []))


def test_celery_instance_validates(tmp_path):
    validated = validate_instance(_load(CELERY_INSTANCE), tmp_path)
    assert validated["run_launcher"]["class"] == "DefaultRunLauncher"
    assert "postgres" in validated["storage"]  # workers on other machines share runs and events
    _assert_scoring_pool_limited(validated)


def _set(path: tuple, value: Any) -> Callable[[dict], None]:
    def mutate(config: dict) -> None:
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return mutate


def _rename(path: tuple, new: str) -> Callable[[dict], None]:
    def mutate(config: dict) -> None:
        node = config
        for key in path[:-1]:
            node = node[key]
        node[new] = node.pop(path[-1])

    return mutate


BROKEN_INSTANCES = {
    "k8s: launcher key misspelt": (
        K8S_INSTANCE,
        _rename(("run_launcher", "config", "job_namespace"), "namespace"),
    ),
    "k8s: launcher key of the wrong type": (
        K8S_INSTANCE,
        _set(("run_launcher", "config", "env_secrets"), "rb-pipeline-hf"),
    ),
    "k8s: instance_config_map missing": (
        K8S_INSTANCE,
        lambda c: c["run_launcher"]["config"].pop("instance_config_map"),
    ),
    "k8s: launcher class misspelt": (K8S_INSTANCE, _set(("run_launcher", "class"), "K8sRunLaunchr")),
    "k8s: max_concurrent_runs twice": (
        K8S_INSTANCE,
        _set(("run_coordinator", "config", "max_concurrent_runs"), 4),
    ),
    "k8s: unknown instance key": (K8S_INSTANCE, _set(("telemetry", "enable"), False)),
    "celery: negative pool limit": (CELERY_INSTANCE, _set(("concurrency", "pools", "default_limit"), -1)),
    "celery: old and new pool limits": (
        CELERY_INSTANCE,
        _set(("concurrency", "default_op_concurrency_limit"), 1),
    ),
    "celery: coordinator config misspelt": (
        CELERY_INSTANCE,
        _set(("run_coordinator", "config", "dequeue_interval"), 5),
    ),
    "celery: two storages": (CELERY_INSTANCE, _set(("storage", "sqlite"), {"base_dir": "/tmp"})),
}


@pytest.mark.parametrize("case", list(BROKEN_INSTANCES))
def test_broken_instance_copy_fails(case, tmp_path):
    path, mutate = BROKEN_INSTANCES[case]
    config = _load(path)
    mutate(config)
    with pytest.raises(INVALID):
        validate_instance(config, tmp_path)


# --- (b) the Celery run config ----------------------------------------------------------------------


def _celery_score_model_job():
    """`score_model` as the Celery deployment runs it: the code location loaded with RB_EXECUTOR=celery."""
    import importlib
    import os

    import assets.definitions

    previous = os.environ.get("RB_EXECUTOR")
    os.environ["RB_EXECUTOR"] = "celery"
    try:
        module = importlib.reload(assets.definitions)
        job = module.defs.resolve_job_def("score_model")
    finally:
        if previous is None:
            os.environ.pop("RB_EXECUTOR")
        else:
            os.environ["RB_EXECUTOR"] = previous
        importlib.reload(assets.definitions)
    assert job.executor_def.name == "celery"
    return job


def validate_celery_run_config(run_config: dict, path: Path) -> None:
    """The executor block against celery_executor's schema, the whole run config against `score_model` on
    that executor, and the file as the worker CLI reads it (`dagster-celery worker start -y`)."""
    from dagster_celery import celery_executor
    from dagster_celery.cli import get_config_value_from_yaml, get_validated_config
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app

    executor_config = run_config["execution"]["config"]
    result = validate_config(celery_executor.config_schema.config_type, executor_config)
    if not result.success:
        raise DagsterInvalidConfigError("celery_executor config", result.errors, executor_config)
    validate_run_config(_celery_score_model_job(), run_config)

    path.write_text(yaml.safe_dump(run_config))
    get_validated_config(str(path))
    # The worker CLI passes the block to CeleryExecutor.for_cli, which takes fewer keys than the schema.
    app = make_app(CeleryExecutor.for_cli(**get_config_value_from_yaml(str(path))).app_args())
    assert app.conf.worker_concurrency == 1  # one task per worker: one worker per GPU


def test_celery_run_config_validates(tmp_path):
    run_config = _load(CELERY_RUN_CONFIG)
    validate_celery_run_config(run_config, tmp_path / "run_config.yaml")
    assert run_config["execution"]["config"]["broker"].startswith(("pyamqp://", "amqp://", "redis://"))


BROKEN_RUN_CONFIGS = {
    "executor key misspelt": _rename(("execution", "config", "broker"), "brokers"),
    "config_source not a mapping": _set(("execution", "config", "config_source"), ["worker_concurrency=1"]),
    "include not a list": _set(("execution", "config", "include"), {"assets": "definitions"}),
    "retries, which the worker CLI rejects": _set(("execution", "config", "retries"), {"enabled": {}}),
    "scores config of the wrong type": _set(("ops", "scores", "config", "batch_size"), "large"),
    "scores config key misspelt": _set(("ops", "scores", "config", "batchsize"), 8),
    "an op the job does not have": _set(("ops", "score", "config"), {}),
}


@pytest.mark.parametrize("case", list(BROKEN_RUN_CONFIGS))
def test_broken_celery_run_config_fails(case, tmp_path):
    run_config = _load(CELERY_RUN_CONFIG)
    BROKEN_RUN_CONFIGS[case](run_config)
    with pytest.raises(INVALID):
        validate_celery_run_config(run_config, tmp_path / "run_config.yaml")


def test_worker_and_launch_commands_parse_with_the_installed_clis(monkeypatch):
    """The README's worker and launch commands are accepted by this dagster-celery / dagster CLI."""
    from dagster._cli.job import job_launch_command
    from dagster_celery.cli import worker_start_command

    monkeypatch.chdir(REPO_ROOT)  # -y / -c paths are relative to the repository root
    lines = [line.strip() for line in README.read_text().splitlines()]
    worker = next(line for line in lines if "dagster-celery worker start" in line)
    launch = next(line for line in lines if "dagster job launch" in line)
    params = worker_start_command.make_context("start", shlex.split(worker.split(" start ", 1)[1])).params
    assert params["app"] == "dagster_celery.app"  # required by `worker start`
    assert Path(params["config_yaml"]).resolve() == CELERY_RUN_CONFIG
    assert set(params["includes"]) == set(_load(CELERY_RUN_CONFIG)["execution"]["config"]["include"])
    params = job_launch_command.make_context("launch", shlex.split(launch.split(" launch ", 1)[1])).params
    assert params["job_name"] == "score_model"
    assert "dagster/partition" in json.loads(params["tags"])


# --- (c) the Helm values ----------------------------------------------------------------------------


def render_instance(values: dict) -> dict:
    """The instance the chart renders from these values (the parts they set), as its templates do."""
    launcher_values = values["runLauncher"]["config"]["k8sRunLauncher"]
    launcher = {
        # Always filled in by the chart itself.
        "instance_config_map": "dagster-instance",
        "postgres_password_secret": "dagster-postgresql-secret",
        "dagster_home": "/opt/dagster/dagster_home",
        "service_account_name": "dagster",
        "job_namespace": launcher_values.get("jobNamespace") or "dagster",
    }
    for key, value in launcher_values.items():
        if key == "jobNamespace":
            continue
        field = HELM_TO_LAUNCHER[key]
        if key == "image":
            value = f"{value['repository']}:{value['tag']}"
        elif key in ("envSecrets", "envConfigMaps"):
            value = [entry["name"] for entry in value]
        elif key == "runK8sConfig":
            value = {HELM_TO_RUN_K8S_CONFIG[name]: config for name, config in value.items()}
        launcher[field] = value
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    coordinator = {"dequeue_interval_seconds": queued.get("dequeueIntervalSeconds")}
    if queued.get("maxConcurrentRuns") is not None:
        coordinator["max_concurrent_runs"] = queued["maxConcurrentRuns"]
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True, "the chart drops the concurrency block unless enabled"
    pools, runs = concurrency["pools"], concurrency.get("runs", {})
    rendered_pools = {"default_limit": pools.get("defaultLimit"), "granularity": pools.get("granularity")}
    return {
        "run_launcher": {"module": "dagster_k8s", "class": values["runLauncher"]["type"], "config": launcher},
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": values["dagsterDaemon"]["runCoordinator"]["type"],
            "config": {k: v for k, v in coordinator.items() if v is not None},
        },
        "concurrency": {
            "pools": {k: v for k, v in rendered_pools.items() if v is not None},
            **(
                {"runs": {"max_concurrent_runs": runs["maxConcurrentRuns"]}}
                if "maxConcurrentRuns" in runs
                else {}
            ),
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
    }


def _env_items(values: dict):
    deployments = values["dagster-user-deployments"]["deployments"]
    for deployment in deployments:
        env = deployment.get("env") or []
        yield from ({"name": k, "value": v} for k, v in env.items()) if isinstance(env, dict) else env


def check_helm_values(values: dict, tmp_path: Path) -> dict:
    """Keys the chart knows, the code location module, K8sRunLauncher fields, a limited `scoring` pool, no
    literal token; then the instance the chart would render, through `validate_instance`."""
    from dagster_k8s import K8sRunLauncher

    assert set(values) <= CHART_TOP_LEVEL, set(values) - CHART_TOP_LEVEL
    user_code = values["dagster-user-deployments"]
    assert user_code["enabled"] is True
    [deployment] = user_code["deployments"]
    assert set(deployment) <= CHART_USER_DEPLOYMENT, set(deployment) - CHART_USER_DEPLOYMENT
    assert {"repository", "tag", "pullPolicy"} <= set(deployment["image"])
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("-m") + 1] if "-m" in args else args[args.index("--module-name") + 1]
    assert module == "assets.definitions" and importlib.util.find_spec(module) is not None

    env = {item["name"]: item for item in _env_items(values)}
    assert {"RB_HOME", "RB_LAKE"} <= set(env) and env["RB_LAKE"]["value"].startswith("s3://")
    assert "HF_TOKEN" not in env, "HF_TOKEN comes from a secret, by name"
    assert "rb-pipeline-hf" in {secret["name"] for secret in deployment["envSecrets"]}
    assert not re.search(r"hf_[A-Za-z0-9]{20,}", yaml.safe_dump(values)), "a literal Hugging Face token"

    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher_values = values["runLauncher"]["config"]["k8sRunLauncher"]
    fields = set(K8sRunLauncher.config_type())
    assert set(launcher_values) <= set(HELM_TO_LAUNCHER), set(launcher_values) - set(HELM_TO_LAUNCHER)
    assert {HELM_TO_LAUNCHER[key] for key in launcher_values} <= fields
    run_k8s_fields = set(K8sRunLauncher.config_type()["run_k8s_config"].config_type.fields)
    assert {HELM_TO_RUN_K8S_CONFIG[key] for key in launcher_values.get("runK8sConfig", {})} <= run_k8s_fields

    concurrency = values["concurrency"]
    assert set(concurrency) <= set(CHART_CONCURRENCY)
    for section in ("pools", "runs"):
        assert set(concurrency.get(section, {})) <= CHART_CONCURRENCY[section]
    assert (
        isinstance(concurrency["pools"].get("defaultLimit"), int)
        and concurrency["pools"]["defaultLimit"] >= 1
    )
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    return validate_instance(render_instance(values), tmp_path)


def test_helm_values_validate_and_match_the_instance_yaml(tmp_path):
    from dagster_k8s.job import UserDefinedDagsterK8sConfig

    rendered = check_helm_values(_load(K8S_VALUES), tmp_path)
    _assert_scoring_pool_limited(rendered)
    by_hand = _load(K8S_INSTANCE)
    assert rendered["concurrency"] == by_hand["concurrency"]
    assert rendered["run_launcher"]["class"] == by_hand["run_launcher"]["class"]
    helm_launcher, hand_launcher = rendered["run_launcher"]["config"], by_hand["run_launcher"]["config"]
    for key in ("resources", "fail_pod_on_run_failure", "load_incluster_config", "image_pull_policy"):
        assert helm_launcher[key] == hand_launcher[key], key
    # Helm's raw Kubernetes keys are camelCase, the hand-written ones snake_case: compare as Dagster reads.
    helm_k8s, hand_k8s = helm_launcher["run_k8s_config"], hand_launcher["run_k8s_config"]
    assert UserDefinedDagsterK8sConfig.from_dict(helm_k8s) == UserDefinedDagsterK8sConfig.from_dict(hand_k8s)


def _deployment(values: dict) -> dict:
    return values["dagster-user-deployments"]["deployments"][0]


BROKEN_VALUES = {
    "top-level key misspelt": _rename(("concurrency",), "concurency"),
    "user deployment key misspelt": lambda v: _deployment(v).update(
        dagsterApiGrpcArg=_deployment(v).pop("dagsterApiGrpcArgs")
    ),
    "another module": lambda v: _deployment(v).update(dagsterApiGrpcArgs=["-m", "assets.definition"]),
    "another run launcher": _set(("runLauncher", "type"), "CeleryK8sRunLauncher"),
    "launcher key misspelt": _rename(
        ("runLauncher", "config", "k8sRunLauncher", "jobNamespace"), "jobNamspace"
    ),
    "launcher value of the wrong type": _set(
        ("runLauncher", "config", "k8sRunLauncher", "failPodOnRunFailure"), "yes"
    ),
    "no pool limit": lambda v: v["concurrency"]["pools"].pop("defaultLimit"),
    "pools not enabled": _set(("concurrency", "enabled"), False),
    "max concurrent runs twice": _set(
        ("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator", "maxConcurrentRuns"), 8
    ),
    "a literal token": lambda v: _deployment(v)["env"].append(
        {"name": "HF_TOKEN", "value": "literal-" + secrets.token_hex(4)}  # made at run time
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_VALUES))
def test_broken_helm_values_copy_fails(case, tmp_path):
    values = copy.deepcopy(_load(K8S_VALUES))
    BROKEN_VALUES[case](values)
    with pytest.raises(INVALID):
        check_helm_values(values, tmp_path)


def test_chart_version_is_the_installed_dagster():
    pinned = f"--version {dagster.__version__}"
    assert pinned in README.read_text() and pinned in K8S_VALUES.read_text()


# --- (d) the GPU run tag ----------------------------------------------------------------------------


def test_k8s_run_tags_validate_and_request_one_gpu():
    from dagster_k8s.job import (
        USER_DEFINED_K8S_CONFIG_KEY,
        USER_DEFINED_K8S_JOB_CONFIG_SCHEMA,
        UserDefinedDagsterK8sConfig,
        get_user_defined_k8s_config,
    )

    from assets.k8s import k8s_run_tags

    tags = k8s_run_tags(1)
    assert set(tags) == {USER_DEFINED_K8S_CONFIG_KEY}
    raw = json.loads(tags[USER_DEFINED_K8S_CONFIG_KEY])
    assert validate_config(USER_DEFINED_K8S_JOB_CONFIG_SCHEMA, raw).success
    parsed = get_user_defined_k8s_config(tags)  # what the launcher reads off a run
    assert parsed == UserDefinedDagsterK8sConfig.from_dict(raw)
    resources = parsed.container_config["resources"]
    assert resources["limits"] == {"nvidia.com/gpu": "1"} and resources["requests"] == {"nvidia.com/gpu": "1"}

    sized = get_user_defined_k8s_config(k8s_run_tags(2, memory="32Gi", cpu="4")).container_config["resources"]
    assert sized["limits"] == {"nvidia.com/gpu": "2", "memory": "32Gi"}
    assert sized["requests"] == {"nvidia.com/gpu": "2", "memory": "32Gi", "cpu": "4"}
    cpu_only = json.loads(k8s_run_tags(0, memory="8Gi")[USER_DEFINED_K8S_CONFIG_KEY])
    assert "nvidia.com/gpu" not in json.dumps(cpu_only) and "pod_spec_config" not in cpu_only

    broken = {"container_configs": raw["container_config"]}  # the validator does say no
    assert not validate_config(USER_DEFINED_K8S_JOB_CONFIG_SCHEMA, broken).success
    for bad in (
        {"gpus": -1},
        {"gpus": 1.5},
        {"gpus": True},
        {"gpus": 1, "memory": "32 GB"},
        {"gpus": 1, "cpu": "four"},
    ):
        with pytest.raises(ValueError):
            k8s_run_tags(**bad)


def test_scores_run_pod_gets_its_gpu_from_the_launcher():
    """The run launcher from deploy/k8s/dagster.yaml turns a scores run with `k8s_run_tags(1)` into a Job
    whose container asks for one GPU, takes HF_TOKEN from its secret, and keeps the default cpu request."""
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.job import construct_dagster_k8s_job

    from assets.k8s import k8s_run_tags

    with _offline_k8s():
        launcher = _rehydrate(_load(K8S_INSTANCE)["run_launcher"], K8sRunLauncher)
    run = DagsterRun(
        job_name="score_model",
        run_id=make_new_run_id(),
        tags={"dagster/partition": "org--name", **k8s_run_tags(1, memory="32Gi")},
    )
    context = launcher.get_container_context_for_run(run)
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image=None, run_launcher=launcher),
        args=["dagster", "api", "execute_run"],
        job_name="dagster-run-test",
        user_defined_k8s_config=context.run_k8s_config,
        component="run_worker",
    )
    pod = job.spec.template.spec
    [container] = pod.containers
    assert container.resources.limits == {"nvidia.com/gpu": "1", "memory": "32Gi"}
    assert container.resources.requests == {"nvidia.com/gpu": "1", "memory": "32Gi", "cpu": "1"}
    assert "rb-pipeline-hf" in {source.secret_ref.name for source in container.env_from if source.secret_ref}
    assert "HF_TOKEN" not in {var.name for var in container.env}
    assert "nvidia.com/gpu" in {toleration.key for toleration in pod.tolerations}


def test_model_run_tags_follow_the_model_entry(rb_home):
    from assets.k8s import model_run_tags
    from rb_pipeline.catalog.entries import ModelEntry, register_model

    register_model(ModelEntry(id="big-org/rm-70b", gpus=4, device_map="auto"))
    register_model(ModelEntry(id="tiny-org/rm", gpus=0))
    tags = model_run_tags("big-org/rm-70b", memory="400Gi")
    assert tags["dagster/partition"] == "big-org--rm-70b"
    resources = json.loads(tags["dagster-k8s/config"])["container_config"]["resources"]
    assert resources["limits"] == {"nvidia.com/gpu": "4", "memory": "400Gi"}
    assert json.loads(model_run_tags("tiny-org/rm")["dagster-k8s/config"]) == {}
