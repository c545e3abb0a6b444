"""Support for the Python interop suite: generated messages, the target, call helpers.

Messages are generated at run time with Debian's protoc (3.21) into a temporary
directory, because Python code emitted by Grpc.Tools' newer protoc needs a newer
protobuf runtime than Debian's python3-protobuf. No gRPC stubs are generated
(Debian has no grpc_tools): calls go through channel.unary_unary & co. with the
full method path, which is all a stub does anyway.
"""

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP_PROTOS = os.path.normpath(os.path.join(HERE, "..", "protos"))
STANDARD_PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "protos"))

PROTO_FILES = {
    # module alias -> proto file (relative to its include dir)
    "echo_pb2": "interop/v1/echo.proto",
    "health_pb2": "grpc/health/v1/health.proto",
    "reflection_v1_pb2": "grpc/reflection/v1/reflection.proto",
    "reflection_v1alpha_pb2": "grpc/reflection/v1alpha/reflection.proto",
}

DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024


def target():
    value = os.environ.get("INTEROP_TARGET")
    if not value:
        raise RuntimeError("INTEROP_TARGET is not set (expected host:port of the interop server)")
    return value


def tls_root():
    """PEM bytes of the certificate that signed the server's (INTEROP_TLS_ROOT), or None for cleartext."""
    path = os.environ.get("INTEROP_TLS_ROOT")
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def max_message_size():
    """The server's configured maximum message size (both directions)."""
    return int(os.environ.get("INTEROP_MAX_MESSAGE_SIZE", DEFAULT_MAX_MESSAGE_SIZE))


def _protoc():
    protoc = os.environ.get("PROTOC") or shutil.which("protoc") or "/usr/bin/protoc"
    if not os.path.exists(protoc) and shutil.which(protoc) is None:
        raise RuntimeError("protoc not found: install Debian's protobuf-compiler")
    return protoc


def _generate():
    out = tempfile.mkdtemp(prefix="interop-py-")
    atexit.register(shutil.rmtree, out, True)
    files = list(PROTO_FILES.values())
    subprocess.run(
        [_protoc(), f"-I{INTEROP_PROTOS}", f"-I{STANDARD_PROTOS}", f"--python_out={out}", *files],
        check=True,
    )
    modules = {}
    for alias, proto in PROTO_FILES.items():
        path = os.path.join(out, proto[: -len(".proto")] + "_pb2.py")
        # Loaded by path under an alias: the generated "grpc/..." folders would
        # otherwise shadow (or be shadowed by) the grpc runtime package.
        spec = importlib.util.spec_from_file_location(f"interop_gen.{alias}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[alias] = module
    return modules


_MODULES = _generate()
echo_pb2 = _MODULES["echo_pb2"]
health_pb2 = _MODULES["health_pb2"]
reflection_v1_pb2 = _MODULES["reflection_v1_pb2"]
reflection_v1alpha_pb2 = _MODULES["reflection_v1alpha_pb2"]


def metadata_dict(metadata):
    """Metadata (sequence of (key, value)) as a dict; the last value of a key wins."""
    return {key: value for key, value in (metadata or ())}
