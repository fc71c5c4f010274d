"""Kubernetes manifests for one org (scope): a CronJob per destination, the relay Deployment,
the PersistentVolumeClaims for their state, and references to the Secret and ConfigMap the
operator creates. Kubernetes does the scheduling; wfm's lock and journal make a duplicated start
harmless, and concurrencyPolicy Forbid keeps one run of a destination at a time anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from wfmcli.schedule import cron_expression, minutes_of

MOUNT = "/var/lib/wfm"
CONFIG_MOUNT = "/etc/wfm"
METRICS_PORT = 9464
NOTHING_TO_DO = 8


@dataclass(frozen=True)
class KubeSpec:
    scope: str
    destination: str
    timezone: str
    every: timedelta
    offset: timedelta
    time_limit: timedelta
    image: str
    rta_ports: tuple[int, ...]  # the scope's RTA listen ports; empty: no relay Deployment
    variables: tuple[str, ...]  # the ${VAR} names the Secret must hold
    storage: str = "1Gi"

    @property
    def base(self) -> str:
        return "wfm-" + _dns(self.scope)

    @property
    def secret(self) -> str:
        return self.base  # one Secret per org: its ${VAR} values

    @property
    def config_map(self) -> str:
        return f"{self.base}-config"


def _dns(text: str) -> str:
    """A DNS-1123 label piece: lower case, digits and '-'."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"


def _labels(spec: KubeSpec, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "wfm",
        "app.kubernetes.io/instance": spec.base,
        "app.kubernetes.io/component": component,
        "wfm/scope": _dns(spec.scope),
    }


def _pvc(spec: KubeSpec, name: str, component: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": _labels(spec, component)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": spec.storage}},
        },
    }


def _container(spec: KubeSpec, name: str, command: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "image": spec.image,
        "command": command,
        "env": [
            {"name": "WFM_CONFIG", "value": f"{CONFIG_MOUNT}/config.yaml"},
            {"name": "WFM_DATA_DIR", "value": f"{MOUNT}/data"},
            {"name": "WFM_CACHE_DIR", "value": f"{MOUNT}/cache"},
        ],
        # the ${VAR} values of the configuration; optional so a scope without any still starts
        "envFrom": [{"secretRef": {"name": spec.secret, "optional": not spec.variables}}],
        "volumeMounts": [
            {"name": "state", "mountPath": MOUNT},
            {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True},
        ],
        "securityContext": {"allowPrivilegeEscalation": False},
    }


def _volumes(spec: KubeSpec, claim: str) -> list[dict[str, Any]]:
    return [
        {"name": "state", "persistentVolumeClaim": {"claimName": claim}},
        {"name": "config", "configMap": {"name": spec.config_map}},
    ]


def cronjob(spec: KubeSpec) -> dict[str, Any]:
    target = f"{spec.scope}/{spec.destination}"
    # exit 8 (nothing to do) is a normal outcome on a timer, not a failed Job
    run = f'wfm --quiet run "{target}"; code=$?; [ "$code" -eq {NOTHING_TO_DO} ] && exit 0'
    container = _container(spec, "run", ["/bin/sh", "-c", f"{run}; exit $code"])
    period = int(timedelta(minutes=minutes_of(spec.every)).total_seconds())
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": f"{spec.base}-{_dns(spec.destination)}",
            "labels": _labels(spec, "run"),
        },
        "spec": {
            "schedule": cron_expression(spec.every, spec.offset),
            # the destination's zone: hourly runs then start at :lag local, like its intervals
            "timeZone": spec.timezone,
            "concurrencyPolicy": "Forbid",
            # a start missed by more than half a period waits for the next; wfm catches up
            "startingDeadlineSeconds": max(period // 2, 60),
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,  # the next scheduled run is the retry
                    "activeDeadlineSeconds": int(spec.time_limit.total_seconds()),
                    "template": {
                        "metadata": {"labels": _labels(spec, "run")},
                        "spec": {
                            "restartPolicy": "Never",
                            "terminationGracePeriodSeconds": 60,  # SIGTERM: finish the file
                            "containers": [container],
                            "volumes": _volumes(spec, f"{spec.base}-state"),
                        },
                    },
                }
            },
        },
    }


def relay(spec: KubeSpec) -> list[dict[str, Any]]:
    """The Deployment for `wfm rta serve SCOPE` and the Service WFM clients connect to."""
    command = [
        "wfm", "rta", "serve", spec.scope,
        "--metrics-port", str(METRICS_PORT), "--metrics-host", "0.0.0.0",  # noqa: S104 - probes reach the pod IP
    ]  # fmt: skip
    container = _container(spec, "relay", command)
    container["ports"] = [
        {"name": "metrics", "containerPort": METRICS_PORT},
        *({"name": f"rta-{port}", "containerPort": port} for port in spec.rta_ports),
    ]
    probe = {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10}
    container["readinessProbe"] = probe
    container["livenessProbe"] = {**probe, "failureThreshold": 6}
    labels = _labels(spec, "relay")
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{spec.base}-rta", "labels": labels},
        "spec": {
            "replicas": 1,  # one relay per org: a second would subscribe every agent twice
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": _volumes(spec, f"{spec.base}-rta-state"),
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{spec.base}-rta", "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics"},
                *(
                    {"name": f"rta-{port}", "port": port, "targetPort": f"rta-{port}"}
                    for port in spec.rta_ports
                ),
            ],
        },
    }
    return [deployment, service]


def manifests(spec: KubeSpec) -> list[dict[str, Any]]:
    documents = [_pvc(spec, f"{spec.base}-state", "run"), cronjob(spec)]
    if spec.rta_ports:
        documents += [_pvc(spec, f"{spec.base}-rta-state", "relay"), *relay(spec)]
    return documents


def render_yaml(spec: KubeSpec) -> str:
    import yaml

    header = (
        f"# wfm on Kubernetes: org (scope) {spec.scope}, destination {spec.destination}.\n"
        f"# Create first, in the same namespace:\n"
        f"#   kubectl create configmap {spec.config_map} --from-file=config.yaml=CONFIG\n"
        f"#   kubectl create secret generic {spec.secret} --from-env-file=ENV_FILE\n"
        f"#     (ENV_FILE holds: {', '.join(spec.variables) or 'nothing; it may be empty'})\n"
        "# then: kubectl apply -f THIS_FILE\n"
    )
    body = yaml.safe_dump_all(manifests(spec), sort_keys=False, default_flow_style=False)
    return header + body
