"""deploy/ checked offline: Kubernetes manifests against the API schemas, the compose file
against the Compose specification, and every file against what Abi actually serves and reads
(settings names, routes, exported metrics)."""

from __future__ import annotations

import base64
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from abi.config import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
K8S_VERSION = "1.30"
MASTER_KEY = base64.b64encode(bytes(32)).decode()


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _manifests() -> dict[str, dict[str, Any]]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            doc = _yaml(path)
            docs[doc["kind"]] = doc
    return docs


@pytest.mark.parametrize(
    "path", sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"), ids=str
)
def test_k8s_manifest_matches_the_api_schema(path: Path) -> None:
    kubernetes_validate.validate(_yaml(path), K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    listed = set(_yaml(K8S / "kustomization.yaml")["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == present


def test_all_required_kinds_exist() -> None:
    kinds = set(_manifests())
    required = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert required | {"NetworkPolicy", "ConfigMap", "Secret"} <= kinds


def _container() -> dict[str, Any]:
    spec = _manifests()["Deployment"]["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = spec["containers"]
    return containers[0]


def test_probes_use_the_health_route() -> None:
    container = _container()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert path.startswith("/api/v1/health?probe=")
    assert container["readinessProbe"]["httpGet"]["path"].endswith("probe=ready")


def test_the_pod_runs_as_non_root_with_a_read_only_root() -> None:
    pod = _manifests()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    container = _container()["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]


def test_selectors_match_the_pod_labels() -> None:
    docs = _manifests()
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selectors = [
        docs["Deployment"]["spec"]["selector"]["matchLabels"],
        docs["Service"]["spec"]["selector"],
        docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
        docs["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()


def test_the_service_and_autoscaler_point_at_the_deployment() -> None:
    docs = _manifests()
    ports = {p["name"] for p in _container()["ports"]}
    assert docs["Service"]["spec"]["ports"][0]["targetPort"] in ports
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == (
        "Deployment",
        docs["Deployment"]["metadata"]["name"],
    )


def test_configmap_and_secret_are_valid_abi_settings() -> None:
    docs = _manifests()
    environ = {**docs["ConfigMap"]["data"], **docs["Secret"]["stringData"]}
    environ["ABI_SECURITY_MASTER_KEY"] = MASTER_KEY
    settings = load_settings(environ=environ)
    assert settings.server.port == 8080
    assert settings.database_url.startswith("postgresql+psycopg://")


def test_the_deployment_reads_only_keys_the_secret_has() -> None:
    secret_keys = set(_manifests()["Secret"]["stringData"])
    refs = {e["valueFrom"]["secretKeyRef"]["key"] for e in _container()["env"]}
    assert refs <= secret_keys


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = _yaml(DEPLOY / "compose.yaml")
    return data


def test_compose_file_matches_the_compose_specification() -> None:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.validate(_compose(), schema)


def test_compose_runs_abi_with_its_dependencies() -> None:
    services = _compose()["services"]
    assert {"abi", "postgres", "redis", "prometheus", "grafana"} <= set(services)
    assert set(services["abi"]["depends_on"]) == {"postgres", "redis"}


def test_compose_mounts_only_files_that_exist() -> None:
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                target = DEPLOY / source
                assert target.exists() or target.parent.name == "secrets", (name, source)


def test_compose_environment_is_valid_abi_settings() -> None:
    environ = dict(_compose()["services"]["abi"]["environment"])
    substituted = {key: re.sub(r"\$\{[^}]+\}", "x", value) for key, value in environ.items()}
    substituted["ABI_SECURITY_MASTER_KEY"] = MASTER_KEY
    assert load_settings(environ=substituted).server.workers == 2


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = _dockerfile()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and not users[-1].startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK .*\n?.*/api/v1/health", text, re.MULTILINE)
    assert re.search(r"^EXPOSE 8080$", text, re.MULTILINE)


def test_dockerfile_copies_only_paths_the_build_context_keeps() -> None:
    text = _dockerfile()
    root = DEPLOY.parent
    kept = {
        line[1:].rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        part
        for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE)
        for part in line.split()[:-1]
    ]
    assert sources
    for source in sources:
        assert (root / source).exists(), source
        assert source.rstrip("/") in kept, source


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An app on a built (not started) Platform: its routes and metric collectors exist."""
    from abi.runtime import Platform
    from abi.server.app import create_app

    data_dir = tmp_path_factory.mktemp("deploy") / "data"
    return create_app(Platform(load_settings(environ={}, overrides={"data_dir": data_dir})))


def test_prometheus_scrapes_the_metrics_route_with_an_api_key(built: Any) -> None:
    rules = {rule.rule for rule in built.url_map.iter_rules()}
    for name in ("prometheus.yml", "kubernetes-scrape.yml"):
        job = _yaml(DEPLOY / "prometheus" / name)["scrape_configs"][0]
        assert job["metrics_path"] == "/api/v1/metrics"
        assert job["metrics_path"] in rules
        assert job["authorization"]["type"] == "ApiKey"


def _exported_metric_names() -> set[str]:
    from prometheus_client import REGISTRY

    names: set[str] = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    for family in REGISTRY.collect():
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def test_the_dashboard_queries_only_metrics_abi_exports(built: Any) -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "abi.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {m for expr in exprs for m in re.findall(r"\b((?:abi|process)_[a-z0-9_]+)", expr)}
    assert used
    assert used - _exported_metric_names() == set()


def test_dashboard_panels_have_unique_ids() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "abi.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
