"""Interop suite: Debian's python3-grpcio calling the interop server.

The server (INTEROP_TARGET=host:port) serves tests/interop/protos/interop/v1/echo.proto,
grpc.health.v1.Health and server reflection (v1 and v1alpha). Every case checks a
behaviour the proto's comments promise; none of them can pass against a server
that does not implement it.
"""

import base64
import queue
import threading
import time
import unittest

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from interop_support import (
    echo_pb2,
    health_pb2,
    max_message_size,
    metadata_dict,
    reflection_v1_pb2,
    reflection_v1alpha_pb2,
    target,
    tls_root,
)
from run_suite import retire

NON_ASCII_MESSAGE = "Zugriff verweigert: Überprüfung – ошибка ✓"
# Bytes that are not valid UTF-8 and include every awkward value for a header.
BINARY_VALUE = bytes([0x00, 0xFF, 0xFE, 0x0A, 0x0D, 0x80, 0x7F, 0x20, 0x3A])

ECHO = "/interop.v1.Echo/"


def channel_options():
    # The client's own limits stay out of the way so that the server's limit is
    # the one under test.
    return [
        ("grpc.max_receive_message_length", 4 * max_message_size() + 1024 * 1024),
        ("grpc.max_send_message_length", -1),
    ]


def open_channel(compression=None):
    root = tls_root()
    if root is None:
        return grpc.insecure_channel(target(), options=channel_options(), compression=compression)
    # TLS with HTTP/2 by ALPN; the test certificate is issued to "localhost".
    options = channel_options() + [("grpc.ssl_target_name_override", "localhost")]
    return grpc.secure_channel(target(), grpc.ssl_channel_credentials(root_certificates=root), options=options, compression=compression)


class EchoStubs:
    """What a generated stub would be: one multi-callable per method."""

    def __init__(self, channel):
        req, res, stream_req = echo_pb2.EchoRequest, echo_pb2.EchoResponse, echo_pb2.StreamRequest
        self.unary = channel.unary_unary(ECHO + "Unary", req.SerializeToString, res.FromString)
        self.server_stream = channel.unary_stream(ECHO + "ServerStream", stream_req.SerializeToString, res.FromString)
        self.client_stream = channel.stream_unary(ECHO + "ClientStream", req.SerializeToString, res.FromString)
        self.bidi = channel.stream_stream(ECHO + "Bidi", req.SerializeToString, res.FromString)


class ChannelTestCase(unittest.TestCase):
    compression = None

    @classmethod
    def setUpClass(cls):
        cls.channel = open_channel(cls.compression)
        cls.echo = EchoStubs(cls.channel)
        # Fail fast with a clear message when the server is not there.
        grpc.channel_ready_future(cls.channel).result(timeout=10)

    @classmethod
    def tearDownClass(cls):
        retire(cls.channel)

    def assertStatus(self, error, code, details=None):
        self.assertIsInstance(error, grpc.RpcError)
        self.assertEqual(error.code(), code, f"details: {error.details()!r}")
        if details is not None:
            self.assertEqual(error.details(), details)


class CallShapeTests(ChannelTestCase):
    def test_unary_echoes_message_and_payload(self):
        reply = self.echo.unary(echo_pb2.EchoRequest(message="hello", payload=b"\x00\x01\xff"), timeout=10)
        self.assertEqual(reply.message, "hello")
        self.assertEqual(reply.payload, b"\x00\x01\xff")
        self.assertEqual(reply.index, 0)

    def test_unary_with_response_size_answers_that_many_a_bytes(self):
        reply = self.echo.unary(echo_pb2.EchoRequest(message="sized", payload=b"ignored", response_size=1000), timeout=10)
        self.assertEqual(reply.message, "sized")
        self.assertEqual(reply.payload, b"a" * 1000)

    def test_unary_with_empty_request_answers_empty_response(self):
        reply = self.echo.unary(echo_pb2.EchoRequest(), timeout=10)
        self.assertEqual(reply, echo_pb2.EchoResponse())

    def test_server_stream_sends_count_responses_in_order(self):
        replies = list(self.echo.server_stream(
            echo_pb2.StreamRequest(message="tick", count=5, payload_size=17), timeout=10))
        self.assertEqual([r.message for r in replies], [f"tick {i}" for i in range(5)])
        self.assertEqual([r.index for r in replies], list(range(5)))
        self.assertTrue(all(r.payload == b"a" * 17 for r in replies))

    def test_server_stream_with_zero_count_ends_ok_without_responses(self):
        call = self.echo.server_stream(echo_pb2.StreamRequest(message="none", count=0), timeout=10)
        self.assertEqual(list(call), [])
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_server_stream_ends_with_requested_status_after_its_responses(self):
        call = self.echo.server_stream(echo_pb2.StreamRequest(
            message="m", count=3, fail_code=grpc.StatusCode.ABORTED.value[0], fail_message=NON_ASCII_MESSAGE), timeout=10)
        received = []
        with self.assertRaises(grpc.RpcError) as caught:
            for reply in call:
                received.append(reply.message)
        self.assertEqual(received, ["m 0", "m 1", "m 2"])
        self.assertStatus(caught.exception, grpc.StatusCode.ABORTED, NON_ASCII_MESSAGE)

    def test_server_stream_of_many_messages_arrives_complete(self):
        replies = list(self.echo.server_stream(
            echo_pb2.StreamRequest(message="bulk", count=500, payload_size=1024), timeout=30))
        self.assertEqual(len(replies), 500)
        self.assertEqual(replies[-1].message, "bulk 499")

    def test_client_stream_joins_messages_and_concatenates_payloads(self):
        requests = [echo_pb2.EchoRequest(message=m, payload=p) for m, p in (("a", b"1"), ("b", b"22"), ("c", b"333"))]
        reply = self.echo.client_stream(iter(requests), timeout=10)
        self.assertEqual(reply.message, "a,b,c")
        self.assertEqual(reply.payload, b"122333")
        self.assertEqual(reply.index, 3)

    def test_client_stream_without_requests_answers_zero_count(self):
        reply = self.echo.client_stream(iter(()), timeout=10)
        self.assertEqual(reply.message, "")
        self.assertEqual(reply.payload, b"")
        self.assertEqual(reply.index, 0)

    def test_client_stream_of_many_requests_is_counted(self):
        requests = (echo_pb2.EchoRequest(message=str(i), payload=b"x" * 100) for i in range(1000))
        reply = self.echo.client_stream(requests, timeout=30)
        self.assertEqual(reply.index, 1000)
        self.assertEqual(len(reply.payload), 100_000)
        self.assertEqual(reply.message.split(",")[:3], ["0", "1", "2"])

    def test_bidi_answers_each_request_before_the_next_is_sent(self):
        # Ping-pong: the next request is only produced after the previous answer
        # arrived, which proves responses are streamed, not buffered until the end.
        outbox = queue.Queue()

        def requests():
            while True:
                item = outbox.get()
                if item is None:
                    return
                yield item

        call = self.echo.bidi(requests(), timeout=10)
        for i in range(5):
            outbox.put(echo_pb2.EchoRequest(message=f"ping {i}", payload=bytes([i])))
            reply = next(call)
            self.assertEqual(reply.message, f"ping {i}")
            self.assertEqual(reply.payload, bytes([i]))
            self.assertEqual(reply.index, i)
        outbox.put(None)
        self.assertEqual(list(call), [])
        self.assertEqual(call.code(), grpc.StatusCode.OK)

    def test_bidi_request_with_fail_code_ends_call_with_that_status(self):
        requests = [
            echo_pb2.EchoRequest(message="first"),
            echo_pb2.EchoRequest(fail_code=grpc.StatusCode.FAILED_PRECONDITION.value[0], fail_message="stop here"),
            echo_pb2.EchoRequest(message="never answered"),
        ]
        call = self.echo.bidi(iter(requests), timeout=10)
        received = []
        with self.assertRaises(grpc.RpcError) as caught:
            for reply in call:
                received.append(reply.message)
        self.assertEqual(received, ["first"])
        self.assertStatus(caught.exception, grpc.StatusCode.FAILED_PRECONDITION, "stop here")


class StatusTests(ChannelTestCase):
    def test_error_status_with_non_ascii_message_round_trips_exactly(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.echo.unary(echo_pb2.EchoRequest(
                fail_code=grpc.StatusCode.PERMISSION_DENIED.value[0], fail_message=NON_ASCII_MESSAGE), timeout=10)
        self.assertStatus(caught.exception, grpc.StatusCode.PERMISSION_DENIED, NON_ASCII_MESSAGE)

    def test_message_with_percent_signs_and_control_characters_round_trips(self):
        message = "100% sure? %41 is not A\ttab\r\nnew line"
        with self.assertRaises(grpc.RpcError) as caught:
            self.echo.unary(echo_pb2.EchoRequest(fail_code=grpc.StatusCode.INVALID_ARGUMENT.value[0], fail_message=message), timeout=10)
        self.assertStatus(caught.exception, grpc.StatusCode.INVALID_ARGUMENT, message)

    def test_every_error_code_reaches_the_client_unchanged(self):
        for code in grpc.StatusCode:
            if code == grpc.StatusCode.OK:
                continue
            with self.subTest(code=code.name):
                with self.assertRaises(grpc.RpcError) as caught:
                    self.echo.unary(echo_pb2.EchoRequest(fail_code=code.value[0], fail_message=f"code {code.name}"), timeout=10)
                self.assertStatus(caught.exception, code, f"code {code.name}")

    def test_unknown_method_is_unimplemented(self):
        call = self.channel.unary_unary(ECHO + "NoSuchMethod", echo_pb2.EchoRequest.SerializeToString, echo_pb2.EchoResponse.FromString)
        with self.assertRaises(grpc.RpcError) as caught:
            call(echo_pb2.EchoRequest(message="x"), timeout=10)
        self.assertStatus(caught.exception, grpc.StatusCode.UNIMPLEMENTED)

    def test_unknown_service_is_unimplemented(self):
        call = self.channel.unary_unary("/interop.v1.NoSuchService/Unary", echo_pb2.EchoRequest.SerializeToString, echo_pb2.EchoResponse.FromString)
        with self.assertRaises(grpc.RpcError) as caught:
            call(echo_pb2.EchoRequest(message="x"), timeout=10)
        self.assertStatus(caught.exception, grpc.StatusCode.UNIMPLEMENTED)


class DeadlineTests(ChannelTestCase):
    def test_unary_slower_than_its_deadline_fails_with_deadline_exceeded(self):
        started = time.monotonic()
        with self.assertRaises(grpc.RpcError) as caught:
            self.echo.unary(echo_pb2.EchoRequest(message="slow", delay_ms=5000), timeout=0.3)
        elapsed = time.monotonic() - started
        self.assertStatus(caught.exception, grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(elapsed, 3.0, "the deadline did not cut the call short")

    def test_unary_delay_within_its_deadline_succeeds(self):
        started = time.monotonic()
        reply = self.echo.unary(echo_pb2.EchoRequest(message="patient", delay_ms=200), timeout=10)
        self.assertEqual(reply.message, "patient")
        # The server's timer may fire a fraction of a millisecond early as this clock sees it.
        self.assertGreaterEqual(time.monotonic() - started, 0.19)

    def test_server_stream_is_cut_by_its_deadline_after_some_responses(self):
        call = self.echo.server_stream(echo_pb2.StreamRequest(message="t", count=1000, interval_ms=50), timeout=1.5)
        received = []
        with self.assertRaises(grpc.RpcError) as caught:
            for reply in call:
                received.append(reply.index)
        self.assertStatus(caught.exception, grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertGreater(len(received), 0)
        self.assertLess(len(received), 1000)
        self.assertEqual(received, list(range(len(received))))

    def test_bidi_request_slower_than_deadline_fails_with_deadline_exceeded(self):
        call = self.echo.bidi(iter([echo_pb2.EchoRequest(message="slow", delay_ms=5000)]), timeout=0.3)
        with self.assertRaises(grpc.RpcError) as caught:
            list(call)
        self.assertStatus(caught.exception, grpc.StatusCode.DEADLINE_EXCEEDED)

    def test_cancelled_server_stream_leaves_channel_usable(self):
        call = self.echo.server_stream(echo_pb2.StreamRequest(message="c", count=1000, interval_ms=20), timeout=30)
        self.assertEqual(next(call).index, 0)
        call.cancel()
        with self.assertRaises(grpc.RpcError) as caught:
            list(call)
        self.assertStatus(caught.exception, grpc.StatusCode.CANCELLED)
        self.assertEqual(self.echo.unary(echo_pb2.EchoRequest(message="after"), timeout=10).message, "after")


class MetadataTests(ChannelTestCase):
    METADATA = (
        ("x-echo-plain", "value with spaces"),
        ("x-echo-data-bin", BINARY_VALUE),
        ("x-not-echoed", "stays here"),
    )

    def assertEchoed(self, headers, trailers):
        headers, trailers = metadata_dict(headers), metadata_dict(trailers)
        self.assertEqual(headers.get("x-echo-plain"), "value with spaces")
        self.assertEqual(headers.get("x-echo-data-bin"), BINARY_VALUE)
        self.assertEqual(trailers.get("x-trailer-x-echo-plain"), "value with spaces")
        self.assertEqual(trailers.get("x-trailer-x-echo-data-bin"), BINARY_VALUE)
        self.assertNotIn("x-not-echoed", headers)
        self.assertNotIn("x-trailer-x-not-echoed", trailers)

    def test_unary_echoes_metadata_in_headers_trailers_and_body(self):
        reply, call = self.echo.unary.with_call(echo_pb2.EchoRequest(message="md"), metadata=self.METADATA, timeout=10)
        self.assertEchoed(call.initial_metadata(), call.trailing_metadata())
        self.assertEqual(dict(reply.metadata), {
            "x-echo-plain": "value with spaces",
            "x-echo-data-bin": base64.b64encode(BINARY_VALUE).decode("ascii"),
        })

    def test_server_stream_echoes_metadata_in_headers_and_trailers(self):
        call = self.echo.server_stream(echo_pb2.StreamRequest(message="md", count=2), metadata=self.METADATA, timeout=10)
        self.assertEqual(len(list(call)), 2)
        self.assertEchoed(call.initial_metadata(), call.trailing_metadata())

    def test_client_stream_echoes_metadata_in_headers_and_trailers(self):
        reply, call = self.echo.client_stream.with_call(
            iter([echo_pb2.EchoRequest(message="x")]), metadata=self.METADATA, timeout=10)
        self.assertEqual(reply.index, 1)
        self.assertEchoed(call.initial_metadata(), call.trailing_metadata())

    def test_bidi_echoes_metadata_in_headers_and_trailers(self):
        call = self.echo.bidi(iter([echo_pb2.EchoRequest(message="x")]), metadata=self.METADATA, timeout=10)
        self.assertEqual([r.message for r in call], ["x"])
        self.assertEchoed(call.initial_metadata(), call.trailing_metadata())

    def test_failed_call_still_carries_echoed_trailers(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.echo.unary(echo_pb2.EchoRequest(fail_code=grpc.StatusCode.NOT_FOUND.value[0], fail_message="gone"),
                            metadata=self.METADATA, timeout=10)
        self.assertStatus(caught.exception, grpc.StatusCode.NOT_FOUND, "gone")
        trailers = metadata_dict(caught.exception.trailing_metadata())
        self.assertEqual(trailers.get("x-trailer-x-echo-plain"), "value with spaces")
        self.assertEqual(trailers.get("x-trailer-x-echo-data-bin"), BINARY_VALUE)

    def test_empty_binary_value_and_many_keys_are_echoed(self):
        metadata = [(f"x-echo-k{i}", f"v{i}") for i in range(20)] + [("x-echo-empty-bin", b"")]
        reply, call = self.echo.unary.with_call(echo_pb2.EchoRequest(message="many"), metadata=metadata, timeout=10)
        headers = metadata_dict(call.initial_metadata())
        for i in range(20):
            self.assertEqual(headers.get(f"x-echo-k{i}"), f"v{i}")
        self.assertEqual(reply.metadata.get("x-echo-k19"), "v19")
        self.assertEqual(reply.metadata.get("x-echo-empty-bin"), "")


class GzipChannelTests(ChannelTestCase):
    """Every call on this channel is sent gzip-compressed (grpc-encoding: gzip)."""

    compression = grpc.Compression.Gzip

    def test_unary_with_compressible_payload_round_trips(self):
        payload = b"annotate " * 20_000
        reply = self.echo.unary(echo_pb2.EchoRequest(message="gz", payload=payload), timeout=10)
        self.assertEqual(reply.payload, payload)

    def test_unary_with_incompressible_payload_round_trips(self):
        payload = bytes((i * 7919 + 13) % 251 for i in range(50_000))
        reply = self.echo.unary(echo_pb2.EchoRequest(message="gz", payload=payload), timeout=10)
        self.assertEqual(reply.payload, payload)

    def test_all_call_shapes_work_compressed(self):
        self.assertEqual(len(list(self.echo.server_stream(echo_pb2.StreamRequest(message="s", count=3, payload_size=10_000), timeout=10))), 3)
        reply = self.echo.client_stream(iter([echo_pb2.EchoRequest(message="a", payload=b"z" * 10_000)] * 3), timeout=10)
        self.assertEqual(reply.index, 3)
        self.assertEqual(len(reply.payload), 30_000)
        replies = list(self.echo.bidi(iter([echo_pb2.EchoRequest(message=str(i), payload=b"q" * 5000) for i in range(4)]), timeout=10))
        self.assertEqual([r.message for r in replies], ["0", "1", "2", "3"])


class GzipPerCallTests(ChannelTestCase):
    def test_unary_compressed_per_call_round_trips(self):
        payload = b"per call " * 10_000
        reply = self.echo.unary(echo_pb2.EchoRequest(message="gz", payload=payload), timeout=10,
                                compression=grpc.Compression.Gzip)
        self.assertEqual(reply.payload, payload)

    def test_bidi_compressed_per_call_round_trips(self):
        requests = [echo_pb2.EchoRequest(message=str(i), payload=b"b" * 20_000) for i in range(3)]
        replies = list(self.echo.bidi(iter(requests), timeout=10, compression=grpc.Compression.Gzip))
        self.assertEqual([len(r.payload) for r in replies], [20_000] * 3)

    def test_compressed_and_plain_calls_share_a_channel(self):
        for compression in (grpc.Compression.Gzip, grpc.Compression.NoCompression, grpc.Compression.Gzip):
            reply = self.echo.unary(echo_pb2.EchoRequest(message=str(compression), payload=b"m" * 3000), timeout=10,
                                    compression=compression)
            self.assertEqual(reply.message, str(compression))


class HealthTests(ChannelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        req, res = health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
        cls.check = cls.channel.unary_unary("/grpc.health.v1.Health/Check", req.SerializeToString, res.FromString)
        cls.watch = cls.channel.unary_stream("/grpc.health.v1.Health/Watch", req.SerializeToString, res.FromString)

    def test_check_of_the_whole_server_is_serving(self):
        reply = self.check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(reply.status, health_pb2.HealthCheckResponse.SERVING)

    def test_check_of_the_echo_service_is_serving(self):
        reply = self.check(health_pb2.HealthCheckRequest(service="interop.v1.Echo"), timeout=10)
        self.assertEqual(reply.status, health_pb2.HealthCheckResponse.SERVING)

    def test_check_of_an_unknown_service_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        self.assertStatus(caught.exception, grpc.StatusCode.NOT_FOUND)

    def test_watch_sends_current_status_and_stays_open(self):
        call = self.watch(health_pb2.HealthCheckRequest(service="interop.v1.Echo"), timeout=30)
        self.assertEqual(next(call).status, health_pb2.HealthCheckResponse.SERVING)
        # The stream must stay open: nothing more arrives while the status holds.
        outcome = {}

        def read_next():
            try:
                outcome["next"] = next(call)
            except grpc.RpcError as error:
                outcome["error"] = error
            except StopIteration:
                outcome["ended"] = True

        reader = threading.Thread(target=read_next, daemon=True)
        reader.start()
        reader.join(0.5)
        self.assertTrue(reader.is_alive(), f"watch stream did not stay open: {outcome}")
        call.cancel()
        reader.join(5)
        self.assertFalse(reader.is_alive())
        self.assertEqual(outcome["error"].code(), grpc.StatusCode.CANCELLED)

    def test_watch_of_an_unknown_service_reports_service_unknown(self):
        call = self.watch(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=30)
        self.assertEqual(next(call).status, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
        call.cancel()


def message_class(pool, full_name):
    descriptor = pool.FindMessageTypeByName(full_name)
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)  # Debian 12's 4.21


class ReflectionTests:
    """Speaks the reflection protocol the way grpcurl does; run for v1 and v1alpha."""

    pb2 = None
    service = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        req, res = cls.pb2.ServerReflectionRequest, cls.pb2.ServerReflectionResponse
        cls.info = cls.channel.stream_stream(f"/{cls.service}/ServerReflectionInfo", req.SerializeToString, res.FromString)

    def ask(self, *requests):
        replies = list(self.info(iter(requests), timeout=10))
        self.assertEqual(len(replies), len(requests))
        return replies

    def file_descriptors(self, reply):
        self.assertEqual(reply.WhichOneof("message_response"), "file_descriptor_response", str(reply))
        return [descriptor_pb2.FileDescriptorProto.FromString(b) for b in reply.file_descriptor_response.file_descriptor_proto]

    def test_list_services_names_echo_health_and_reflection(self):
        (reply,) = self.ask(self.pb2.ServerReflectionRequest(list_services=""))
        self.assertEqual(reply.WhichOneof("message_response"), "list_services_response")
        names = {s.name for s in reply.list_services_response.service}
        self.assertIn("interop.v1.Echo", names)
        self.assertIn("grpc.health.v1.Health", names)
        self.assertIn(self.service, names)

    def test_file_containing_echo_service_describes_every_method(self):
        (reply,) = self.ask(self.pb2.ServerReflectionRequest(file_containing_symbol="interop.v1.Echo"))
        self.assertEqual(reply.original_request.file_containing_symbol, "interop.v1.Echo")
        files = {f.name: f for f in self.file_descriptors(reply)}
        echo = files.get("interop/v1/echo.proto")
        self.assertIsNotNone(echo, f"files: {sorted(files)}")
        self.assertEqual(echo.package, "interop.v1")
        (service,) = [s for s in echo.service if s.name == "Echo"]
        methods = {m.name: (m.input_type, m.output_type, m.client_streaming, m.server_streaming) for m in service.method}
        self.assertEqual(methods, {
            "Unary": (".interop.v1.EchoRequest", ".interop.v1.EchoResponse", False, False),
            "ServerStream": (".interop.v1.StreamRequest", ".interop.v1.EchoResponse", False, True),
            "ClientStream": (".interop.v1.EchoRequest", ".interop.v1.EchoResponse", True, False),
            "Bidi": (".interop.v1.EchoRequest", ".interop.v1.EchoResponse", True, True),
        })
        request = {m.name: m for m in echo.message_type}["EchoRequest"]
        self.assertEqual([(f.name, f.number) for f in request.field], [
            ("message", 1), ("payload", 2), ("fail_code", 3), ("fail_message", 4), ("delay_ms", 5), ("response_size", 6)])

    def test_reflected_descriptor_is_enough_to_call_the_server(self):
        # What grpcurl does: build message types from the reflected file alone and call.
        (reply,) = self.ask(self.pb2.ServerReflectionRequest(file_containing_symbol="interop.v1.Echo.Unary"))
        pool = descriptor_pool.DescriptorPool()
        for file in self.file_descriptors(reply):
            pool.Add(file)
        request_type = message_class(pool, "interop.v1.EchoRequest")
        response_type = message_class(pool, "interop.v1.EchoResponse")
        method = pool.FindMethodByName("interop.v1.Echo.Unary")
        call = self.channel.unary_unary(f"/{method.containing_service.full_name}/{method.name}",
                                        request_type.SerializeToString, response_type.FromString)
        answer = call(request_type(message="via reflection", response_size=4), timeout=10)
        self.assertEqual(answer.message, "via reflection")
        self.assertEqual(answer.payload, b"aaaa")

    def test_file_by_filename_answers_the_health_proto(self):
        (reply,) = self.ask(self.pb2.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"))
        files = {f.name: f for f in self.file_descriptors(reply)}
        health = files["grpc/health/v1/health.proto"]
        self.assertEqual(health.package, "grpc.health.v1")
        self.assertEqual([s.name for s in health.service], ["Health"])

    def test_unknown_symbol_answers_not_found_and_stream_continues(self):
        missing, listed = self.ask(
            self.pb2.ServerReflectionRequest(file_containing_symbol="no.such.Thing"),
            self.pb2.ServerReflectionRequest(list_services=""))
        self.assertEqual(missing.WhichOneof("message_response"), "error_response")
        self.assertEqual(missing.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0])
        self.assertEqual(listed.WhichOneof("message_response"), "list_services_response")


class ReflectionV1Tests(ReflectionTests, ChannelTestCase):
    pb2 = reflection_v1_pb2
    service = "grpc.reflection.v1.ServerReflection"


class ReflectionV1alphaTests(ReflectionTests, ChannelTestCase):
    pb2 = reflection_v1alpha_pb2
    service = "grpc.reflection.v1alpha.ServerReflection"


class MessageSizeTests(ChannelTestCase):
    # Room for the fields around the payload (tag, length varint, message, ...).
    MARGIN = 64

    def test_request_just_under_the_maximum_is_accepted(self):
        size = max_message_size() - self.MARGIN
        reply = self.echo.unary(echo_pb2.EchoRequest(message="big", payload=b"p" * size), timeout=30)
        self.assertEqual(len(reply.payload), size)

    def test_response_just_under_the_maximum_is_delivered(self):
        size = max_message_size() - self.MARGIN
        reply = self.echo.unary(echo_pb2.EchoRequest(message="big", response_size=size), timeout=30)
        self.assertEqual(reply.payload, b"a" * size)

    def test_request_over_the_maximum_is_resource_exhausted(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.echo.unary(echo_pb2.EchoRequest(message="too big", payload=b"p" * (max_message_size() + 1)), timeout=30)
        self.assertStatus(caught.exception, grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_response_over_the_maximum_is_resource_exhausted(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.echo.unary(echo_pb2.EchoRequest(message="too big", response_size=max_message_size() + 1), timeout=30)
        self.assertStatus(caught.exception, grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_server_keeps_serving_after_an_oversized_request(self):
        with self.assertRaises(grpc.RpcError):
            self.echo.unary(echo_pb2.EchoRequest(payload=b"p" * (max_message_size() + 1)), timeout=30)
        self.assertEqual(self.echo.unary(echo_pb2.EchoRequest(message="still here"), timeout=10).message, "still here")


if __name__ == "__main__":
    unittest.main()
