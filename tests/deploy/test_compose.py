"""The compose set-up, checked without Docker: every file it names exists, every command runs a
real entry point, every variable is one its service reads, ports, health checks, Prometheus
targets and the Grafana dashboard agree with the code, and the lean images stay lean."""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_files import (
    COMPOSE,
    REPO,
    as_list,
    context_files,
    copy_from,
    dockerignore,
    environment,
    ignored,
    image_argv,
    interpolated,
    last,
    lineage,
    load_compose,
    needs,
    parse_dockerfile,
    read_env_example,
    required,
    stage_env,
)
from lean_site import build_site
from prometheus_client.metrics import MetricWrapperBase

from nser_decision import settings as decision_settings
from nser_decision.metrics import DecisionMetrics
from nser_mec.metrics import MecMetrics
from nser_nwdaf import settings as nwdaf_settings
from nser_nwdaf.metrics import NwdafMetrics
from nser_sensing import netem
from nser_sensing import transport as sensing_transport
from nser_sensing.client import TARGET_ENV
from nser_shared.links import DEFAULT_LINK_PROFILE
from nser_shared.security.dev_pki import PkiLayout
from nser_shared.settings import Setting
from nser_up.credentials_cli import parse_fleet
from nser_up.network import UpConfig
from nser_up.scenarios import DEFAULT_SCENARIO, split_devices

COMPOSE_DOC = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE_DOC["services"]
DOCKERFILE = REPO / "docker" / "Dockerfile"
IMAGES_SCRIPT = REPO / "scripts" / "docker_images.sh"
STAGES = parse_dockerfile(DOCKERFILE)
PROMETHEUS_YML = REPO / "docker" / "prometheus" / "prometheus.yml"
GRAFANA = REPO / "docker" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "nser.json"
REQUIREMENTS = REPO / "docker" / "requirements"
TORCH = ("torch", "torchaudio", "torchvision")


def _mec_settings() -> dict[str, Setting]:
    # nser_mec.settings imports the backends, hence torch: load it only when a test needs it.
    from nser_mec import settings

    return settings.SETTINGS


def _settings_table(target: str) -> dict[str, Setting]:
    if target == "mec":
        return _mec_settings()
    return {"decision": decision_settings.SETTINGS, "nwdaf": nwdaf_settings.SETTINGS}[target]


def _settings_class(target: str) -> type:
    if target == "mec":
        from nser_mec.settings import MecSettings

        return MecSettings
    return {
        "decision": decision_settings.DecisionSettings,
        "nwdaf": nwdaf_settings.NwdafSettings,
    }[target]


# Settings the compose topology fixes (hosts, ports, peers, models per instance, per-replica
# names); every other setting of a service is passed through from the shell or .env.
TOPOLOGY = {"host", "port", "metrics_port", "redis_url", "models", "consumer", "onnx_dir"}
# Transport security is fixed too: TLS files and tokens in the credentials volume, never insecure.
SECURITY = {
    "tls_cert", "tls_key", "tls_client_ca", "tokens_file", "webhook_secret_file",
    "notify_secret_file", "insecure",
}  # fmt: skip
CREDENTIALS = PkiLayout(Path("/credentials"))  # where the credentials volume is mounted
# Services that run once and exit; their dependents wait for them to complete successfully.
ONE_SHOT = {"credentials"}
# Variables every Python image sets for the interpreter or pip, read by them, not by nser.
INTERPRETER_ENV = {
    "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
    "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_INDEX", "PIP_FIND_LINKS", "VIRTUAL_ENV", "PATH",
}  # fmt: skip
# Variables of the images that run no nser code: what redis-cli and Grafana read.
IMAGE_ENV = {
    "redis": {"REDISCLI_AUTH"},  # redis-cli's password, for the health check
    "grafana": {
        "GF_SECURITY_ADMIN_PASSWORD", "GF_AUTH_ANONYMOUS_ENABLED", "GF_AUTH_ANONYMOUS_ORG_ROLE",
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH",
    },
}  # fmt: skip
# Images that run no nser code, by build target (made from Debian packages by
# scripts/docker_images.sh) or, for a pulled one, by image name: their entry point (None: the
# image's own, compose passes only options) and the ports they serve.
SYSTEM_TARGETS = {"redis", "prometheus"}
IMAGE_BINARIES = {"redis": "redis-server", "prometheus": "prometheus", "grafana/grafana": None}
IMAGE_PORTS = {"redis": {6379}, "prometheus": {9090}, "grafana/grafana": {3000}}


def _system(name: str) -> str | None:
    """The key of `name` in IMAGE_BINARIES and IMAGE_PORTS, when it runs no nser code."""
    target = _target(name)
    if target is None:
        return _image_name(name)
    return target if target in SYSTEM_TARGETS else None


def _target(name: str) -> str | None:
    build = SERVICES[name].get("build")
    return build.get("target") if isinstance(build, dict) else None


def _built(kind: str) -> list[str]:
    return [name for name in SERVICES if _target(name) == kind]


def _image_name(name: str) -> str:
    return str(SERVICES[name].get("image", "")).split(":")[0]


def _effective_env(name: str) -> dict[str, str | None]:
    """The variables a container of `name` starts with: its image's ENV, then compose's."""
    target = _target(name)
    env: dict[str, str | None] = dict(stage_env(STAGES, target)) if target else {}
    env.update(environment(SERVICES[name]))
    return env


def _allowed_env(name: str) -> set[str]:
    target = _target(name)
    if target in ("mec", "decision", "nwdaf"):
        return {s.env for s in _settings_table(target).values()} | INTERPRETER_ENV
    if target == "credentials":
        return INTERPRETER_ENV
    if target == "sensing":
        transport = {s.env for s in sensing_transport.SETTINGS.values()}
        return {TARGET_ENV, netem.PROFILE_ENV} | transport | INTERPRETER_ENV
    return IMAGE_ENV.get(name, set())


def _listening_ports(name: str) -> set[int]:
    system = _system(name)
    if system is not None:
        return IMAGE_PORTS[system]
    target = _target(name)
    assert target is not None
    env = _effective_env(name)
    names = {"mec": ("NSER_MEC_PORT", "NSER_MEC_METRICS_PORT"),
             "decision": ("NSER_DECISION_PORT",), "nwdaf": ("NSER_NWDAF_PORT",),
             "sensing": (), "credentials": ()}[target]  # fmt: skip
    return {int(str(env[n])) for n in names}


def _argv(name: str) -> list[str]:
    """What a container of `name` runs: entry point and command (compose's win over the image's)."""
    service = SERVICES[name]
    target = _target(name)
    entrypoint, cmd = image_argv(STAGES, target) if target else ([], [])
    if "entrypoint" in service:
        entrypoint, cmd = as_list(service["entrypoint"]), []
    if "command" in service:
        cmd = as_list(service["command"])
    return entrypoint + cmd


def _runnable_module(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    if spec is None:
        return False
    if spec.submodule_search_locations is not None:  # a package: needs __main__
        return importlib.util.find_spec(f"{module}.__main__") is not None
    assert spec.origin is not None
    return '__name__ == "__main__"' in Path(spec.origin).read_text()


def _python_modules(argv: list[str]) -> list[str]:
    """Modules `python -m` runs in `argv`, following the netem wrapper into its command."""
    assert argv[:2] == ["python", "-m"], f"not a `python -m` entry point: {argv}"
    modules = [argv[2]]
    if argv[2] == "nser_sensing.netem":
        assert "--" in argv, f"the netem wrapper needs `-- COMMAND`: {argv}"
        modules += _python_modules(argv[argv.index("--") + 1 :])
    return modules


# --- files ----------------------------------------------------------------------------------


def test_every_build_context_dockerfile_and_target_exists() -> None:
    built = [name for name in SERVICES if "build" in SERVICES[name]]
    assert built, "no service is built from docker/Dockerfile"
    for name in built:
        build = SERVICES[name]["build"]
        context = (REPO / build["context"]).resolve()
        assert context.is_dir(), f"{name}: no build context {context}"
        dockerfile = context / build["dockerfile"]
        assert dockerfile == DOCKERFILE, f"{name}: one Dockerfile for every image, got {dockerfile}"
        assert build["target"] in STAGES, f"{name}: no stage {build['target']} in the Dockerfile"


def test_every_copy_source_exists_and_is_sent_in_the_build_context() -> None:
    patterns = dockerignore(DOCKERFILE, REPO)
    assert patterns, "no .dockerignore: .venv and data would be sent to the daemon"
    assert ignored(patterns, ".venv/bin/python")
    assert ignored(patterns, "data/corpus/x.wav")
    for stage in STAGES.values():
        for args in stage.all("COPY"):
            source_stage, sources, _ = copy_from(args)
            if source_stage is not None:
                assert source_stage in STAGES, f"COPY --from={source_stage}: no such stage"
                continue
            for source in sources:
                if source.startswith(".cache/"):  # made by the images script before a build
                    folder = source.split("/${")[0]  # a build argument may pick a subfolder
                    assert folder in IMAGES_SCRIPT.read_text(), f"nothing makes {folder}"
                    assert not ignored(patterns, f"{folder}/x/y"), f"{folder} is not sent"
                    continue
                files = context_files(REPO, source)
                assert files, f"stage {stage.name}: COPY {source}: nothing there"
                left_out = [f for f in files if ignored(patterns, f)]
                assert not left_out, f"COPY {source}: the .dockerignore leaves out {left_out[:3]}"


# --- entry points, environment, ports -------------------------------------------------------


def test_every_service_runs_a_real_entry_point() -> None:
    for name in SERVICES:
        argv = _argv(name)
        system = _system(name)
        if system is not None:
            binary = IMAGE_BINARIES[system]
            if binary is not None:
                assert argv[0] == binary, f"{name}: runs {argv[:1]}, expected {binary}"
            else:  # the image's own entry point; compose passes only options
                assert all(a.startswith("--") for a in argv), f"{name}: {argv}"
            continue
        for module in _python_modules(argv):
            assert _runnable_module(module), f"{name}: `python -m {module}` cannot run"


def test_every_environment_variable_is_one_its_service_reads() -> None:
    for name in SERVICES:
        unknown = set(_effective_env(name)) - _allowed_env(name)
        assert not unknown, f"{name}: {sorted(unknown)} are read by nothing in that container"


def test_every_tunable_setting_can_be_passed_to_its_service() -> None:
    for target in ("mec", "decision", "nwdaf"):
        table = _settings_table(target)
        tunable = {s.env for key, s in table.items() if key not in TOPOLOGY | SECURITY}
        for name in _built(target):
            passed = {k for k, v in environment(SERVICES[name]).items() if v is None}
            assert passed == tunable, (
                f"{name}: pass through exactly the tunable settings; "
                f"missing {sorted(tunable - passed)}, extra {sorted(passed - tunable)}"
            )
    for name in _built("sensing"):
        assert environment(SERVICES[name]).get(netem.PROFILE_ENV, "") is None


def test_published_ports_and_health_checks_use_the_ports_services_listen_on() -> None:
    for name, service in SERVICES.items():
        listening = _listening_ports(name)
        for mapping in service.get("ports", []):
            container_port = int(str(mapping).split(":")[-1].split("/")[0])
            assert container_port in listening, f"{name}: publishes {container_port}, not served"
        target = _target(name)
        if target in ("mec", "decision", "nwdaf"):
            _, check = last(STAGES, target, "HEALTHCHECK") or ("", "")
            port_env = _settings_table(target)["port"].env
            assert f'"${port_env}"' in check, f"{target}: the health check must probe ${port_env}"
            assert ("grpc" if target == "mec" else "http") in check.split()
            default = _settings_class(target)().port
            assert _effective_env(name)[port_env] == str(default), f"{name}: {port_env} moved"


def test_every_service_has_a_health_check() -> None:
    for name, service in SERVICES.items():
        check = service.get("healthcheck", {})
        if name in ONE_SHOT:  # done when it exits 0: nothing to probe
            assert service.get("restart") == "no", f"{name}: a one-shot job must not restart"
            continue
        assert not check.get("disable"), f"{name}: health check disabled"
        target = _target(name)
        if target is not None and "test" not in check:
            found = last(STAGES, target, "HEALTHCHECK")
            assert found is not None, f"{name}: no HEALTHCHECK in its image"
            assert found[1] != "NONE", f"{name}: health check disabled in its image"
        else:
            assert check.get("test"), f"{name}: no health check"


def test_image_health_checks_run_programs_the_image_has() -> None:
    for target in ("mec", "sensing", "decision", "nwdaf"):
        found = last(STAGES, target, "HEALTHCHECK")
        assert found is not None, f"{target}: no HEALTHCHECK"
        words = found[1].split()
        program = words[words.index("CMD") + 1 :]
        assert program[0] == "python", f"{target}: {program}"
        if program[1] == "-m":
            assert _runnable_module(program[2]), f"{target}: `python -m {program[2]}`"
            continue
        copied = {
            destination: sources
            for stage in lineage(STAGES, target)
            for source_stage, sources, destination in map(copy_from, stage.all("COPY"))
            if source_stage is None
        }
        assert program[1] in copied, f"{target}: {program[1]} is not copied into the image"
        assert copied[program[1]] == ["docker/healthcheck.py"]


def test_dependencies_are_waited_for_until_healthy() -> None:
    for name, service in SERVICES.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for dependency, rule in depends.items():
            assert dependency in SERVICES, f"{name}: depends on unknown {dependency}"
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule.get("condition") == wanted, f"{name} -> {dependency}"
            assert "profiles" not in SERVICES[dependency], f"{name} needs optional {dependency}"
        env = _effective_env(name)
        if env.get("REDIS_URL"):
            url = urlsplit(str(env["REDIS_URL"]))
            assert (url.scheme, url.hostname, url.port) == ("redis", "redis", 6379), name
            assert url.password == "<NSER_REDIS_PASSWORD>", f"{name}: Redis without its password"
            assert "redis" in depends, f"{name} uses Redis without waiting for it"
        if env.get(TARGET_ENV):
            host, _, port = str(env[TARGET_ENV]).rpartition(":")
            assert _target(host) == "mec", f"{name} sends windows to {host}, not a MEC"
            assert int(port) in _listening_ports(host), f"{name}: {host} has no port {port}"
            assert host in depends, f"{name} sends to {host} without waiting for it"


def test_runtime_images_run_as_a_non_root_user() -> None:
    for name in SERVICES:
        target = _target(name)
        if target is not None:
            user = last(STAGES, target, "USER")
            assert user is not None, f"{name}: runs as root"
            assert user[1] not in ("root", "0"), f"{name}: runs as root"


# --- the sensing devices ----------------------------------------------------------------------


def test_default_devices_are_the_evening_scenario_of_nser_up() -> None:
    up = UpConfig(out=Path("unused"))
    expected = {scene: count for scene, _, count in split_devices(DEFAULT_SCENARIO, up.devices)}
    groups: dict[str, tuple[int, int]] = {}
    for name in _built("sensing"):
        argv = _argv(name)
        option = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
        groups[option["--scene"]] = (int(option["--first-device"]), int(option["--devices"]))
        assert int(option["--cells"]) == up.cells
        assert option["--dtype"] == up.dtype
    assert {scene: count for scene, (_, count) in groups.items()} == expected
    spans = sorted(groups.values())
    for (first, count), (next_first, _) in itertools.pairwise(spans):
        assert first + max(count, 1000) <= next_first, "device groups must not share ids"


def test_sensing_containers_shape_their_own_uplink_and_the_client_does_not() -> None:
    for name in _built("sensing"):
        service = SERVICES[name]
        assert "NET_ADMIN" in service.get("cap_add", []), f"{name}: tc needs NET_ADMIN"
        argv = _argv(name)
        assert argv[:3] == ["python", "-m", "nser_sensing.netem"]
        client = argv[argv.index("--") + 1 :]
        profiles = [client[i + 1] for i, a in enumerate(client) if a == "--profile"]
        assert profiles == ["ideal"], f"{name}: the client must use --profile ideal only"
        assert service.get("restart", "no") == "no", f"{name}: would replay the same devices"
    run = " ".join(STAGES["sensing"].all("RUN"))
    assert "setcap cap_net_admin+ep" in run
    assert "iproute2" in _system_packages("base"), "tc comes from Debian's iproute2"


def _system_packages(image: str) -> list[str]:
    """The Debian packages scripts/docker_images.sh puts into nser/IMAGE."""
    script = IMAGES_SCRIPT.read_text()
    found = re.search(rf'^{image.upper()}_PACKAGES="([^"]+)"', script, re.MULTILINE)
    assert found is not None, f"scripts/docker_images.sh: no {image.upper()}_PACKAGES"
    return found.group(1).split(",")


def test_system_images_are_the_ones_the_dockerfile_builds_on() -> None:
    text = DOCKERFILE.read_text()
    preamble = text[: text.index("\nFROM ")].splitlines()  # the global build arguments
    args = dict(line.split()[1].split("=", 1) for line in preamble if line.startswith("ARG "))
    assert args == {"BASE_IMAGE": "nser/base:bookworm", "REDIS_IMAGE": "nser/redis:bookworm",
                    "PROMETHEUS_IMAGE": "nser/prometheus:bookworm"}  # fmt: skip
    assert "python3.11" in _system_packages("base")
    assert "redis-server" in _system_packages("redis")
    assert "prometheus" in _system_packages("prometheus")
    for stage in STAGES.values():
        assert stage.base.startswith(("${", "base", "api", "ml")) or stage.base in STAGES, (
            f"stage {stage.name} builds on {stage.base}: only images made here"
        )


# --- transport security ------------------------------------------------------------------------


def _volume_mounts(name: str) -> dict[str, str]:
    """container path -> "volume[:mode]" of a service's named-volume mounts."""
    found = {}
    for volume in SERVICES[name].get("volumes", []):
        source, target, *mode = str(volume).split(":")
        if not source.startswith("."):
            found[target] = ":".join([source, *mode])
    return found


def _tls_files(name: str) -> dict[str, str]:
    """The container's TLS and token file settings (variable -> path)."""
    tls = ("_TLS_", "_TOKENS_FILE", "_DEVICE_CERTS", "_SECRET_FILE")
    return {k: str(v) for k, v in _effective_env(name).items() if any(t in k for t in tls)}


def test_every_nser_service_runs_secure_with_files_from_the_credentials_volume() -> None:
    pki = {str(p) for p in (CREDENTIALS.ca_cert, CREDENTIALS.server_cert, CREDENTIALS.server_key,
                            CREDENTIALS.devices, CREDENTIALS.root / "api-tokens.json",
                            CREDENTIALS.webhook_secret)}  # fmt: skip
    wanted = {
        "mec": {"NSER_MEC_TLS_CERT", "NSER_MEC_TLS_KEY", "NSER_MEC_TLS_CLIENT_CA"},
        "decision": {
            "NSER_DECISION_TLS_CERT",
            "NSER_DECISION_TLS_KEY",
            "NSER_DECISION_WEBHOOK_SECRET_FILE",
        },
        "nwdaf": {"NSER_NWDAF_TLS_CERT", "NSER_NWDAF_TLS_KEY", "NSER_NWDAF_NOTIFY_SECRET_FILE"},
        "sensing": {s.env for k, s in sensing_transport.SETTINGS.items() if k != "insecure"},
    }
    for name in SERVICES:
        target = _target(name)
        if target not in wanted:
            continue
        files = _tls_files(name)
        assert wanted[target] <= set(files), f"{name}: TLS settings {sorted(files)}"
        assert set(files.values()) <= pki, f"{name}: {files} outside the credentials volume"
        assert not [k for k in _effective_env(name) if k.endswith("_INSECURE")], name
        assert _volume_mounts(name).get(str(CREDENTIALS.root)) == "credentials:ro", name
        assert "credentials" in SERVICES[name]["depends_on"], f"{name} may start before its files"


def test_the_credentials_job_covers_every_sensing_device() -> None:
    argv = _argv("credentials")
    assert argv[:4] == ["python", "-m", "nser_cli", "credentials"]
    assert argv[argv.index("--out") + 1] == str(CREDENTIALS.root)
    assert _volume_mounts("credentials")[str(CREDENTIALS.root)] == "credentials"
    fleet = parse_fleet(argv[argv.index("--fleet") + 1])
    assert "--kind" not in argv  # mixed, as the sensing clients deal kinds
    groups = []
    for name in _built("sensing"):
        client = _argv(name)
        option = {client[i]: client[i + 1] for i in range(len(client) - 1)}
        assert "--kind" not in option, f"{name}: its kinds would not match the certificates"
        groups.append((int(option["--first-device"]), int(option["--devices"])))
    assert sorted(fleet) == sorted(groups)
    mkdir = " ".join(STAGES["credentials"].all("RUN"))
    assert f"chown nser:nser {CREDENTIALS.root}" in mkdir  # the volume starts owned by nser


def test_redis_requires_the_password_every_client_uses() -> None:
    argv = _argv("redis")
    assert argv[argv.index("--requirepass") + 1] == "<NSER_REDIS_PASSWORD>"
    assert _effective_env("redis")["REDISCLI_AUTH"] == "<NSER_REDIS_PASSWORD>"
    assert "NSER_REDIS_PASSWORD" in required(COMPOSE.read_text())
    assert read_env_example().active["NSER_REDIS_PASSWORD"] == ""  # no shipped password


def test_prometheus_scrapes_over_https_trusting_the_dev_ca() -> None:
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    for job in config["scrape_configs"]:
        assert job["scheme"] == "https", job["job_name"]
        ca = Path(job["tls_config"]["ca_file"])
        assert ca == CREDENTIALS.ca_cert, job["job_name"]
    assert _volume_mounts("prometheus")[str(CREDENTIALS.root)] == "credentials:ro"


# --- Prometheus ----------------------------------------------------------------------------


def test_prometheus_config_is_what_the_generator_writes(tmp_path: Path) -> None:
    out = tmp_path / "prometheus.yml"
    script = REPO / "scripts" / "gen_prometheus_config.py"
    done = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == PROMETHEUS_YML.read_bytes(), (
        "docker/prometheus/prometheus.yml is stale: run scripts/gen_prometheus_config.py"
    )


def test_prometheus_scrapes_every_service_on_its_metrics_port() -> None:
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = {
        job["job_name"]: sorted(t for c in job["static_configs"] for t in c["targets"])
        for job in config["scrape_configs"]
    }
    metrics_env = {"mec": "NSER_MEC_METRICS_PORT", "decision": "NSER_DECISION_PORT",
                   "nwdaf": "NSER_NWDAF_PORT"}  # fmt: skip
    expected = {
        job: sorted(f"{name}:{_effective_env(name)[env]}" for name in _built(job))
        for job, env in metrics_env.items()
    }
    assert jobs == expected
    mounts = [str(v) for v in SERVICES["prometheus"]["volumes"]]
    assert "./docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert "--config.file=/etc/prometheus/prometheus.yml" in _argv("prometheus")


def test_prometheus_config_and_dashboard_queries_pass_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/system_packages.sh installs prometheus)")
    done = subprocess.run([promtool, "check", "config", str(PROMETHEUS_YML)], capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr
    rules = [{"record": f"nser:panel_query_{i}", "expr": e} for i, e in enumerate(_queries())]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- Grafana -------------------------------------------------------------------------------


def _queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _mounts(name: str) -> dict[str, str]:
    """container path -> repository path of a service's bind mounts."""
    found = {}
    for volume in SERVICES[name].get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("./"):
            found[target] = source
    return found


def test_grafana_provisions_prometheus_and_the_dashboard() -> None:
    mounts = _mounts("grafana")
    assert mounts["/etc/grafana/provisioning"] == "./docker/grafana/provisioning"
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert 9090 in _listening_ports("prometheus")
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/nser.yml").read_text())
    (provider,) = providers["providers"]
    path = provider["options"]["path"]
    assert (REPO / mounts[path]).resolve() == DASHBOARD.parent
    home = _effective_env("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{path}/{DASHBOARD.name}"
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for item in (panel, *panel.get("targets", [])):
            if "datasource" in item:
                assert item["datasource"] == {"type": "prometheus", "uid": source["uid"]}
    assert "prometheus" in SERVICES["grafana"]["depends_on"]


def _collectors() -> dict[str, tuple[str, set[str]]]:
    """Metric name -> (type, label names) of every collector the services declare."""
    found: dict[str, tuple[str, set[str]]] = {}
    for metrics in (MecMetrics(), DecisionMetrics(), NwdafMetrics()):
        for value in vars(metrics).values():
            if isinstance(value, MetricWrapperBase):
                # The label names are private; the registry exposes them only once used.
                found[value._name] = (str(value._type), set(value._labelnames))
    return found


SERIES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}


def test_dashboard_queries_use_metrics_and_labels_the_services_export() -> None:
    collectors = _collectors()
    series = {
        name + suffix: labels
        for name, (kind, labels) in collectors.items()
        for suffix in SERIES[kind]
    }
    used = set()
    for expr in _queries():
        names = set(re.findall(r"\b(nser_[a-z0-9_]+)\b", expr))
        assert names or expr == "up", f"a query of no nser metric: {expr}"
        unknown = names - set(series)
        assert not unknown, f"{expr}: no service exports {sorted(unknown)}"
        labels = set().union(*(series[n] for n in names)) | {"le", "instance", "job"}
        grouped = {x.strip() for g in re.findall(r"by \(([^)]*)\)", expr) for x in g.split(",")}
        matched = set(re.findall(r"([a-z_]+)=~?\"", expr))
        assert grouped | matched <= labels, f"{expr}: labels {sorted(grouped | matched - labels)}"
        used |= {n.removesuffix(s) for n in names for s in ("_bucket", "_sum", "_count", "_total")
                 if n.endswith(s)} | names  # fmt: skip
    wanted = {"nser_decision_end_to_end_seconds", "nser_decision_stage_seconds",
              "nser_mec_requests_total", "nser_decision_alerts_total",
              "nser_decision_decisions_total", "nser_mec_queue_depth",
              "nser_mec_inference_duration_seconds", "nser_mec_batch_size"}  # fmt: skip
    assert wanted <= used, f"the dashboard lacks {sorted(wanted - used)}"


# --- images: requirements, lean images --------------------------------------------------------


def test_image_requirements_are_generated_from_the_lock(tmp_path: Path) -> None:
    script = REPO / "scripts" / "gen_image_requirements.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True)
    assert done.returncode == 0, done.stderr
    for path in sorted(REQUIREMENTS.glob("*.txt")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), (
            f"{path.name} is stale: run scripts/gen_image_requirements.py"
        )
    spec = importlib.util.spec_from_file_location("gen_image_requirements", script)
    assert spec is not None
    assert spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    image_only = {f"{name}=={version}" for name, version in generator.IMAGE_ONLY.values()}
    lock = set((REPO / "requirements.lock").read_text().split())
    for path in REQUIREMENTS.glob("*.txt"):
        pins = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
        assert set(pins) - image_only <= lock, f"{path.name}: pins not in requirements.lock"


def _installed_requirement_files(target: str) -> set[str]:
    files = set()
    for stage in needs(STAGES, target):
        for args in STAGES[stage].all("COPY"):
            source_stage, sources, _ = copy_from(args)
            files |= {s for s in sources if source_stage is None and s.endswith(".txt")}
    return files


@pytest.mark.parametrize(
    ("target", "requirements"),
    [("decision", "api.txt"), ("nwdaf", "api.txt"), ("credentials", "api.txt"), ("mec", "mec.txt")],
)
def test_serving_images_do_not_install_torch(target: str, requirements: str) -> None:
    files = _installed_requirement_files(target)
    assert files == {f"docker/requirements/{requirements}"}, f"{target} installs {files}"
    pins = (REPO / f"docker/requirements/{requirements}").read_text().splitlines()
    assert not [p for p in pins if p.split("==")[0].lower() in TORCH]
    runs = " ".join(args for s in needs(STAGES, target) for args in STAGES[s].all("RUN"))
    assert "torch" not in runs
    assert "requirements.lock" not in runs


def _exported_served_model(out: Path) -> Path:
    from nser_models import export
    from nser_models.checkpoint import SHIPPED_DIR
    from nser_models.served import SERVED_MODEL

    args = argparse.Namespace(
        models=SERVED_MODEL, tasks="detection,type", checkpoints=SHIPPED_DIR, out=out
    )
    assert export.run(args) == 0
    return out


@pytest.mark.parametrize(
    ("target", "requirements"),
    [
        ("decision", "api.txt"),
        ("nwdaf", "api.txt"),
        ("mec", "mec.txt"),
        ("sensing", "sensing.txt"),
        ("credentials", "api.txt"),
    ],
)
def test_each_service_starts_with_only_the_packages_its_image_installs(
    target: str, requirements: str, tmp_path: Path
) -> None:
    assert f"docker/requirements/{requirements}" in _installed_requirement_files(target)
    build_site(REQUIREMENTS / requirements, tmp_path / "site")
    sources = ["shared", "models", "services", "loadtest", "protos/generated"]
    path = ":".join([str(tmp_path / "site"), *(str(REPO / s) for s in sources)])
    probe = Path(__file__).with_name("lean_probe.py")
    env = {"PYTHONPATH": path, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if target == "mec":  # the image serves `nser export`'s files (scripts/docker_images.sh)
        env["NSER_MEC_ONNX_DIR"] = str(_exported_served_model(tmp_path / "onnx"))
    done = subprocess.run(
        [sys.executable, "-S", str(probe), target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{target} needs a package its image lacks:\n{done.stderr}"


# --- .env.example ----------------------------------------------------------------------------


def _default(cls: type, key: str) -> Any:
    for f in fields(cls):
        if f.name == key:
            return f.default_factory() if callable(f.default_factory) else f.default
    raise KeyError(key)


def test_env_example_lists_every_variable_with_its_default() -> None:
    example = read_env_example()
    assert not example.undocumented, f"no comment above {example.undocumented}"
    compose_vars = interpolated(COMPOSE.read_text())
    assert example.active == compose_vars, "active lines: compose's variables and defaults"
    passed = {k for name in SERVICES for k, v in environment(SERVICES[name]).items() if v is None}
    assert set(example.commented) == passed, "commented lines: every pass-through setting"
    for target in ("mec", "decision", "nwdaf"):
        cls = _settings_class(target)
        for key, setting in _settings_table(target).items():
            if setting.env in example.commented:
                value = setting.parse(example.commented[setting.env])
                assert value == _default(cls, key), f"{setting.env}: not the service's default"
    assert example.commented[netem.PROFILE_ENV] == DEFAULT_LINK_PROFILE
