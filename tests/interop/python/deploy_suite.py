"""The Kubernetes manifests of deploy/kubernetes, parsed (Debian's python3-yaml) and checked against the server they run:
the probes name grpc.health.v1 services the real server answers SERVING for, on the port it listens on; the Service
and the Secret fit the Deployment. No cluster is needed; writes JUnit XML.

    ANNOTATE_TARGET=127.0.0.1:50051 /usr/bin/python3 deploy_suite.py [--junit FILE] [--label NAME]

ANNOTATE_TARGET is a running server (cleartext HTTP/2, as Kubernetes' gRPC probes speak); without it the checks against
the server are skipped and the manifests are checked alone.
"""

import glob
import os
import re
import sys
import unittest

import grpc
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from discovery import health_pb2  # noqa: E402 - after the path is set
from run_suite import retire, run_guarded, run_main  # noqa: E402

MANIFESTS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "deploy", "kubernetes"))
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


def load_manifests():
    """Every document of every YAML file in deploy/kubernetes, by kind."""
    by_kind = {}
    for path in sorted(glob.glob(os.path.join(MANIFESTS, "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for document in yaml.safe_load_all(f):
                if document is not None:
                    by_kind.setdefault(document["kind"], []).append(document)
    return by_kind


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kinds = load_manifests()
        cls.deployment = cls.one("Deployment")
        cls.service = cls.one("Service")
        cls.secret = cls.one("Secret")
        cls.pod = cls.deployment["spec"]["template"]
        containers = cls.pod["spec"]["containers"]
        assert len(containers) == 1, f"expected the server's container alone, found {len(containers)}"
        cls.container = containers[0]

    @classmethod
    def one(cls, kind):
        documents = cls.kinds.get(kind, [])
        assert len(documents) == 1, f"expected one {kind} in {MANIFESTS}, found {len(documents)}"
        return documents[0]

    def listen_port(self):
        """The port of the server's --urls argument: where it really listens."""
        args = self.container.get("args", [])
        self.assertIn("--urls", args)
        url = args[args.index("--urls") + 1]
        match = re.fullmatch(r"http://0\.0\.0\.0:(\d+)", url)
        self.assertIsNotNone(match, f"--urls {url}: the server must listen on every address of the pod, in cleartext")
        return int(match.group(1))

    def test_the_deployment_runs_two_replicas_with_resources_and_the_service_selects_its_pods(self):
        self.assertEqual(2, self.deployment["spec"]["replicas"])
        labels = self.pod["metadata"]["labels"]
        self.assertEqual(self.deployment["spec"]["selector"]["matchLabels"], {k: labels[k] for k in self.deployment["spec"]["selector"]["matchLabels"]})
        self.assertTrue(all(labels.get(k) == v for k, v in self.service["spec"]["selector"].items()), "the Service selects no pod of the Deployment")
        resources = self.container["resources"]
        self.assertIn("cpu", resources["requests"])
        self.assertIn("memory", resources["requests"])
        self.assertIn("memory", resources["limits"])

    def test_the_connection_strings_come_from_the_secret_under_the_settings_name_the_server_reads(self):
        refs = [e["secretRef"]["name"] for e in self.container.get("envFrom", []) if "secretRef" in e]
        self.assertEqual([self.secret["metadata"]["name"]], refs)
        # ConnectionStrings:Annotate in the environment (src/Annotate.Server/Hosting/ServerOptions.cs).
        self.assertIn("ConnectionStrings__Annotate", self.secret["stringData"])
        self.assertRegex(self.secret["stringData"]["ConnectionStrings__Annotate"], r"(^|;)Host=[^;]+;")
        plain = {e["name"] for e in self.container.get("env", [])}
        self.assertFalse(any(n.startswith("ConnectionStrings__") for n in plain), "a connection string outside the Secret")

    def test_the_probes_and_the_service_use_the_port_the_server_listens_on(self):
        port = self.listen_port()
        ports = self.container["ports"]
        self.assertEqual([port], [p["containerPort"] for p in ports])
        for probe in PROBES:
            with self.subTest(probe=probe):
                self.assertEqual(port, self.container[probe]["grpc"]["port"])
        named = {p["name"]: p["containerPort"] for p in ports}
        for service_port in self.service["spec"]["ports"]:
            target = service_port["targetPort"]
            self.assertEqual(port, named.get(target) if isinstance(target, str) else target)

    def test_liveness_and_readiness_probes_name_different_health_services(self):
        services = {probe: self.container[probe]["grpc"].get("service", "") for probe in PROBES}
        self.assertEqual(services["startupProbe"], services["livenessProbe"])
        self.assertNotEqual(services["livenessProbe"], services["readinessProbe"])
        self.assertNotIn("", services.values(), "a probe of the whole server mixes liveness with readiness")

    def test_every_probe_names_a_health_service_the_running_server_reports_serving(self):
        target = os.environ.get("ANNOTATE_TARGET")
        if not target:
            self.skipTest("ANNOTATE_TARGET is not set: no server to ask")
        if os.environ.get("ANNOTATE_TLS_ROOT"):
            self.skipTest("Kubernetes' gRPC probes speak cleartext HTTP/2 only")
        channel = grpc.insecure_channel(target)
        retire(channel)
        check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                                    response_deserializer=health_pb2.HealthCheckResponse.FromString)
        for probe in PROBES:
            name = self.container[probe]["grpc"]["service"]
            with self.subTest(probe=probe, service=name):
                self.assertEqual(health_pb2.HealthCheckResponse.SERVING, check(health_pb2.HealthCheckRequest(service=name), timeout=10).status)
        # A name the server does not serve is NOT_FOUND, which a probe counts as a failure: the check above tells them apart.
        with self.assertRaises(grpc.RpcError) as caught:
            check(health_pb2.HealthCheckRequest(service="no-such-probe"), timeout=10)
        self.assertEqual(grpc.StatusCode.NOT_FOUND, caught.exception.code())


def main():
    return run_main("deploy", lambda loader: loader.loadTestsFromTestCase(Manifests))


if __name__ == "__main__":
    run_guarded(main, default_timeout=120)
