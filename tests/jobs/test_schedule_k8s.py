"""`wfm schedule kubernetes` writes manifests the Kubernetes schemas accept (kubernetes-validate
ships them, so this runs offline), with the settings unattended runs depend on."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.config.helpers import ENV, VALID, write
from tests.conftest import RunWfm
from wfmcli.errors import ExitCode

KUBERNETES = "1.30"  # CronJob timeZone is GA from 1.27


def _manifests(run_wfm: RunWfm, config: Path, *extra: str) -> list[dict]:  # type: ignore[type-arg]
    result = run_wfm("-c", str(config), "schedule", "kubernetes", "prod/nice", *extra, env=ENV)
    assert result.exit_code == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_manifests_pass_the_schema_validator(tmp_path: Path, run_wfm: RunWfm) -> None:
    documents = _manifests(run_wfm, write(tmp_path, VALID), "--image", "registry/wfm:1")
    kinds = sorted(doc["kind"] for doc in documents)
    assert kinds == ["CronJob", "Deployment", "PersistentVolumeClaim", "PersistentVolumeClaim",
                     "Service"]  # fmt: skip
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_cronjob_forbids_overlap_and_keeps_the_destinations_time(
    tmp_path: Path, run_wfm: RunWfm
) -> None:
    documents = _manifests(run_wfm, write(tmp_path, VALID))
    (cron,) = [d for d in documents if d["kind"] == "CronJob"]
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["timeZone"] == "America/New_York"
    assert spec["schedule"] == "10-59/15 * * * *"
    assert 0 < spec["startingDeadlineSeconds"] <= 15 * 60
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert 'wfm --quiet run "prod/nice"' in container["command"][-1]
    assert container["envFrom"] == [{"secretRef": {"name": "wfm-prod", "optional": False}}]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "wfm-prod-state"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["WFM_DATA_DIR"].startswith(container["volumeMounts"][0]["mountPath"])


def test_relay_deployment_is_one_replica_serving_the_rta_port(
    tmp_path: Path, run_wfm: RunWfm
) -> None:
    documents = _manifests(run_wfm, write(tmp_path, VALID))
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"][:4] == ["wfm", "rta", "serve", "prod"]
    assert {"name": "rta-7100", "containerPort": 7100} in container["ports"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_no_relay_without_rta(tmp_path: Path, run_wfm: RunWfm) -> None:
    text = VALID.split("        rta:")[0]
    kinds = [d["kind"] for d in _manifests(run_wfm, write(tmp_path, text))]
    assert kinds == ["PersistentVolumeClaim", "CronJob"]


def test_the_validator_can_fail(tmp_path: Path, run_wfm: RunWfm) -> None:
    (cron,) = [d for d in _manifests(run_wfm, write(tmp_path, VALID)) if d["kind"] == "CronJob"]
    cron["spec"]["concurrencyPolicy"] = ["Forbid"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cron, KUBERNETES, strict=True)


def test_unknown_destination(tmp_path: Path, run_wfm: RunWfm) -> None:
    result = run_wfm(
        "-c", str(write(tmp_path, VALID)), "schedule", "kubernetes", "prod/x", env=ENV
    )
    assert result.exit_code == ExitCode.CONFIG
