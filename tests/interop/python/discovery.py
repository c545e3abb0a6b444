"""The Annotate contract as a Python client learns it from the running server: server reflection.

Only the two standard protocols a client must know before it can ask anything are compiled here,
from protos/grpc with Debian's protoc: grpc.reflection.v1 (to ask) and grpc.health.v1 (to check
readiness). Everything of annotate.v1 (services, methods, messages, enums) comes from the
FileDescriptorProtos the server answers, loaded into a fresh DescriptorPool; message classes are made
from that pool. No gRPC stubs are generated (Debian has no grpc_tools for python3-grpcio): calls go
through channel.unary_unary / unary_stream with the method's full path, which is all a stub does.

    api = Api.discover(channel)
    api.call("annotate.v1.Claims", "OpenClaim", {"request_id": ..., ...}, token=...)
"""

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
STANDARD_PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "protos"))
REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def _compile_standard_protos():
    """reflection_pb2 and health_pb2, generated into a temporary folder and loaded under private names."""
    out = tempfile.mkdtemp(prefix="annotate-interop-py-")
    atexit.register(shutil.rmtree, out, True)
    protoc = os.environ.get("PROTOC") or shutil.which("protoc") or "/usr/bin/protoc"
    files = {"reflection_pb2": "grpc/reflection/v1/reflection.proto", "health_pb2": "grpc/health/v1/health.proto"}
    subprocess.run([protoc, f"-I{STANDARD_PROTOS}", f"--python_out={out}", *files.values()], check=True)
    modules = {}
    for alias, proto in files.items():
        # Loaded by path under an alias: the generated "grpc/..." folders would otherwise shadow the grpc package.
        spec = importlib.util.spec_from_file_location(f"interop_gen.{alias}", os.path.join(out, proto[: -len(".proto")] + "_pb2.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[alias] = module
    return modules["reflection_pb2"], modules["health_pb2"]


reflection_pb2, health_pb2 = _compile_standard_protos()


def reflect(channel, requests, timeout=30):
    """Sends reflection requests on one ServerReflectionInfo stream; answers in order."""
    call = channel.stream_stream(
        REFLECTION,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    return list(call(iter(requests), timeout=timeout))


def _ordered(files):
    """FileDescriptorProtos with every file after the files it imports (a pool accepts them only so)."""
    by_name, done, ordered = {f.name: f for f in files}, set(), []

    def visit(name):
        if name in done:
            return
        done.add(name)
        for dependency in by_name[name].dependency:
            if dependency not in by_name:
                raise AssertionError(f"reflection did not send {dependency}, which {name} imports")
            visit(dependency)
        ordered.append(by_name[name])

    for name in sorted(by_name):
        visit(name)
    return ordered


class Api:
    """Services, message classes and enums of what the server describes; calls by service and method name."""

    def __init__(self, channel, services, files):
        self.channel = channel
        self.services = services  # full names, as list_services answered
        self.files = files  # file name -> FileDescriptorProto
        self.pool = descriptor_pool.DescriptorPool()
        for f in _ordered(files.values()):
            self.pool.Add(f)
        self._factory = message_factory.MessageFactory(self.pool)
        self.called = set()  # "/package.Service/Method" of every call made, for the coverage check

    @classmethod
    def discover(cls, channel, package="annotate.v1"):
        """Lists the services, then fetches the files that define those of `package` (with their imports)."""
        listed = reflect(channel, [reflection_pb2.ServerReflectionRequest(list_services="")])[0]
        services = [s.name for s in listed.list_services_response.service]
        wanted = [s for s in services if s.startswith(package + ".")]
        answers = reflect(channel, [reflection_pb2.ServerReflectionRequest(file_containing_symbol=s) for s in wanted])
        files = {}
        for service, answer in zip(wanted, answers):
            if answer.WhichOneof("message_response") != "file_descriptor_response":
                raise AssertionError(f"reflection has no file for {service}: {answer}")
            for raw in answer.file_descriptor_response.file_descriptor_proto:
                f = descriptor_pb2.FileDescriptorProto.FromString(raw)
                files[f.name] = f
        return cls(channel, services, files)

    def service(self, name):
        return self.pool.FindServiceByName(name)

    def methods(self, package="annotate.v1"):
        """Every method of the package's services as "/package.Service/Method"."""
        return {f"/{s}/{m.name}" for s in self.services if s.startswith(package + ".") for m in self.service(s).methods}

    def message(self, full_name):
        return self._factory.GetPrototype(self.pool.FindMessageTypeByName(full_name))

    def enum(self, value_name, package="annotate.v1"):
        """The number of an enum value of the package by its name, e.g. enum("STANCE_REFUTES")."""
        for f in self.files.values():
            if f.package != package:
                continue
            for e in f.enum_type:
                for v in e.value:
                    if v.name == value_name:
                        return v.number
        raise KeyError(value_name)

    def call(self, service, method, request, token=None, timeout=30, metadata=()):
        """Calls annotate.v1.<service>/<method>. request: a message or a dict in proto field names (enums by name).

        Unary methods return the response; server-streaming ones return the call (iterate it, cancel it).
        """
        descriptor = self.service(f"annotate.v1.{service}").FindMethodByName(method)
        if descriptor is None:
            raise AssertionError(f"reflection describes no method {method} of annotate.v1.{service}")
        path = f"/annotate.v1.{service}/{method}"
        request_type = self.message(descriptor.input_type.full_name)
        response_type = self.message(descriptor.output_type.full_name)
        if isinstance(request, dict):
            request = json_format.ParseDict(request, request_type())
        headers = tuple(metadata) + ((("authorization", f"Bearer {token}"),) if token else ())
        self.called.add(path)
        shape = self.channel.unary_stream if descriptor.server_streaming else self.channel.unary_unary
        stub = shape(path, request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString)
        return stub(request, metadata=headers, timeout=timeout)
