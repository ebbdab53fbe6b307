"""What can be checked of docker-compose.yml and the Dockerfile without a Docker engine."""

from __future__ import annotations

import argparse
import re
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from consumer.cli import build_parser as consumer_parser
from generator.cli import build_parser as generator_parser
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def pinned_pyspark() -> str:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [d for d in deps if d.startswith("pyspark==")]
    return str(pin.split("==")[1])


def test_the_pin_is_what_is_installed() -> None:
    assert metadata.version("pyspark") == pinned_pyspark()


def test_services() -> None:
    assert set(SERVICES) == {"spark-master", "spark-worker", "generator", "consumer", "synthetic"}
    page = (REPO / "docs" / "cluster.md").read_text()
    services_sentence = page.split("\nServices: ", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([a-z][a-z-]*)`", services_sentence))
    named |= set(re.findall(r"--scale ([a-z-]+)=", page))
    named |= set(re.findall(r"docker compose logs -f ([a-z-]+)", page))
    assert named == set(SERVICES)  # every service docs/cluster.md names exists, and all are named


def test_every_image_is_the_pinned_spark_version() -> None:
    version = pinned_pyspark()
    for name, service in SERVICES.items():
        image = service["image"]
        assert image.rsplit(":", 1)[1] == version, (name, image)
        if "build" in service:
            assert service["build"]["args"]["SPARK_VERSION"] == version
    assert SERVICES["spark-master"]["image"] == f"apache/spark:{version}"
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"ARG SPARK_VERSION={version}" in dockerfile
    assert "FROM apache/spark:${SPARK_VERSION}" in dockerfile
    # the project is installed into the image, not mounted
    assert "pip install --no-cache-dir /opt/spark-stream-lab/src" in dockerfile
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            assert ".venv" not in volume


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    return parser.parse_args(args)  # raises UsageError on anything unknown or invalid


def test_every_command_is_a_real_module_and_options_of_this_project() -> None:
    spark_jars = Path(__import__("pyspark").__file__).parent / "jars"
    (core,) = spark_jars.glob("spark-core_*.jar")
    classes = set(zipfile.ZipFile(core).namelist())
    for name, service in SERVICES.items():
        command = service["command"]
        if command[:2] == ["python", "-m"]:
            parser = {"generator": generator_parser, "consumer": consumer_parser}[command[2]]()
            args = _parse(parser, command[3:])
            assert args.command in ("files", "socket", "multi", "retail"), name
        else:
            assert command[0] == "/opt/spark/bin/spark-class", name
            assert command[1].replace(".", "/") + ".class" in classes, command[1]


def test_one_volume_at_the_same_path_everywhere() -> None:
    assert set(COMPOSE["volumes"]) == {"data"}
    mounts = {
        name: volume for name, service in SERVICES.items() for volume in service.get("volumes", [])
    }
    assert set(mounts) >= {"spark-worker", "generator", "consumer"}
    assert set(mounts.values()) == {"data:/data"}
    # the programs read and write under that path
    for name in ("generator", "consumer"):
        assert SERVICES[name]["command"][4].startswith("/data/")


def test_uis_published_and_start_order() -> None:
    assert "8080:8080" in SERVICES["spark-master"]["ports"]
    assert "4040:4040" in SERVICES["consumer"]["ports"]
    assert "healthcheck" in SERVICES["spark-master"]
    for name in ("spark-worker", "consumer"):
        assert SERVICES[name]["depends_on"]["spark-master"]["condition"] == "service_healthy"
    master = "spark://spark-master:7077"
    assert master in SERVICES["spark-worker"]["command"]
    assert master in SERVICES["consumer"]["command"]


def test_workers_can_scale() -> None:
    worker = SERVICES["spark-worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
