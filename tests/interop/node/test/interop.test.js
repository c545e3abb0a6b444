// Interop suite: @grpc/grpc-js calling the interop server (INTEROP_TARGET=host:port),
// which serves tests/interop/protos/interop/v1/echo.proto, grpc.health.v1.Health and
// server reflection (v1 and v1alpha). The same behaviours as the Python suite.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const descriptor = require('protobufjs/ext/descriptor');
const protobuf = require('protobufjs');
const {
  grpc, protos, maxMessageSize, makeClient, makeGenericClient, waitReady, metadataOf, deadlineIn, callUnary, collect, GZIP_CHANNEL,
} = require('../support');

const NON_ASCII_MESSAGE = 'Zugriff verweigert: Überprüfung – ошибка ✓';
// Not valid UTF-8, with NUL, CR, LF and ':' in it.
const BINARY_VALUE = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x0d, 0x80, 0x7f, 0x20, 0x3a]);
const { status } = grpc;

function echoClient(extraOptions) {
  return makeClient(protos.echo.Echo, extraOptions);
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded but was expected to fail');
}

function assertStatus(err, code, details) {
  assert.equal(err.code, code, `expected ${status[code]} but got ${status[err.code]}: ${err.details}`);
  if (details !== undefined) assert.equal(err.details, details);
}

// Client-side bidi helper: write requests one at a time and await each answer.
function pingPong(call) {
  const waiting = [];
  const arrived = [];
  call.on('data', (r) => (waiting.length ? waiting.shift().resolve(r) : arrived.push(r)));
  call.on('error', (e) => { while (waiting.length) waiting.shift().reject(e); });
  return (request) => {
    call.write(request);
    if (arrived.length) return Promise.resolve(arrived.shift());
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
}

describe('call shapes', () => {
  let client;
  before(async () => { client = echoClient(); await waitReady(client); });
  after(() => client.close());

  it('unary echoes message and payload', async () => {
    const { response } = await callUnary(client, 'Unary', { message: 'hello', payload: Buffer.from([0, 1, 255]) });
    assert.equal(response.message, 'hello');
    assert.deepEqual(response.payload, Buffer.from([0, 1, 255]));
    assert.equal(response.index, 0);
  });

  it('unary with response_size answers that many a bytes', async () => {
    const { response } = await callUnary(client, 'Unary', { message: 'sized', payload: Buffer.from('ignored'), response_size: 1000 });
    assert.equal(response.message, 'sized');
    assert.deepEqual(response.payload, Buffer.alloc(1000, 'a'));
  });

  it('unary with empty request answers empty response', async () => {
    const { response } = await callUnary(client, 'Unary', {});
    assert.equal(response.message, '');
    assert.equal(response.payload.length, 0);
    assert.equal(response.index, 0);
    assert.deepEqual(response.metadata, {});
  });

  it('server stream sends count responses in order', async () => {
    const { responses, status: st } = await collect(client.ServerStream({ message: 'tick', count: 5, payload_size: 17 }));
    assert.equal(st.code, status.OK);
    assert.deepEqual(responses.map((r) => r.message), [0, 1, 2, 3, 4].map((i) => `tick ${i}`));
    assert.deepEqual(responses.map((r) => r.index), [0, 1, 2, 3, 4]);
    for (const r of responses) assert.deepEqual(r.payload, Buffer.alloc(17, 'a'));
  });

  it('server stream with zero count ends OK without responses', async () => {
    const { responses, status: st } = await collect(client.ServerStream({ message: 'none', count: 0 }));
    assert.equal(st.code, status.OK);
    assert.equal(responses.length, 0);
  });

  it('server stream ends with the requested status after its responses', async () => {
    const { responses, status: st } = await collect(client.ServerStream({
      message: 'm', count: 3, fail_code: status.ABORTED, fail_message: NON_ASCII_MESSAGE,
    }));
    assert.deepEqual(responses.map((r) => r.message), ['m 0', 'm 1', 'm 2']);
    assert.equal(st.code, status.ABORTED);
    assert.equal(st.details, NON_ASCII_MESSAGE);
  });

  it('server stream of many messages arrives complete', async () => {
    const { responses, status: st } = await collect(client.ServerStream({ message: 'bulk', count: 500, payload_size: 1024 }));
    assert.equal(st.code, status.OK);
    assert.equal(responses.length, 500);
    assert.equal(responses[499].message, 'bulk 499');
  });

  it('client stream joins messages and concatenates payloads', async () => {
    const requests = [['a', '1'], ['b', '22'], ['c', '333']].map(([message, p]) => ({ message, payload: Buffer.from(p) }));
    const { response } = await callUnary(client, 'ClientStream', undefined, { requests });
    assert.equal(response.message, 'a,b,c');
    assert.deepEqual(response.payload, Buffer.from('122333'));
    assert.equal(response.index, 3);
  });

  it('client stream without requests answers zero count', async () => {
    const { response } = await callUnary(client, 'ClientStream', undefined, { requests: [] });
    assert.equal(response.message, '');
    assert.equal(response.payload.length, 0);
    assert.equal(response.index, 0);
  });

  it('client stream of many requests is counted', async () => {
    const requests = Array.from({ length: 1000 }, (_, i) => ({ message: String(i), payload: Buffer.alloc(100, 'x') }));
    const { response } = await callUnary(client, 'ClientStream', undefined, { requests });
    assert.equal(response.index, 1000);
    assert.equal(response.payload.length, 100_000);
    assert.deepEqual(response.message.split(',').slice(0, 3), ['0', '1', '2']);
  });

  it('bidi answers each request before the next is sent', async () => {
    // The next request is written only after the previous answer arrived, which
    // proves responses are streamed rather than held until the requests end.
    const call = client.Bidi(new grpc.Metadata(), { deadline: deadlineIn(10_000) });
    const done = collect(call);
    const ask = pingPong(call);
    for (let i = 0; i < 5; i++) {
      const reply = await ask({ message: `ping ${i}`, payload: Buffer.from([i]) });
      assert.equal(reply.message, `ping ${i}`);
      assert.deepEqual(reply.payload, Buffer.from([i]));
      assert.equal(reply.index, i);
    }
    call.end();
    const { status: st } = await done;
    assert.equal(st.code, status.OK);
  });

  it('bidi request with fail_code ends the call with that status', async () => {
    const call = client.Bidi();
    const done = collect(call);
    call.write({ message: 'first' });
    call.write({ fail_code: status.FAILED_PRECONDITION, fail_message: 'stop here' });
    call.write({ message: 'never answered' });
    call.end();
    const { responses, status: st } = await done;
    assert.deepEqual(responses.map((r) => r.message), ['first']);
    assert.equal(st.code, status.FAILED_PRECONDITION);
    assert.equal(st.details, 'stop here');
  });
});

describe('status', () => {
  let client;
  before(async () => { client = echoClient(); await waitReady(client); });
  after(() => client.close());

  it('error status with a non-ASCII message round-trips exactly', async () => {
    const err = await rejection(callUnary(client, 'Unary', { fail_code: status.PERMISSION_DENIED, fail_message: NON_ASCII_MESSAGE }));
    assertStatus(err, status.PERMISSION_DENIED, NON_ASCII_MESSAGE);
  });

  it('message with percent signs and control characters round-trips', async () => {
    const message = '100% sure? %41 is not A\ttab\r\nnew line';
    const err = await rejection(callUnary(client, 'Unary', { fail_code: status.INVALID_ARGUMENT, fail_message: message }));
    assertStatus(err, status.INVALID_ARGUMENT, message);
  });

  it('every error code reaches the client unchanged', async () => {
    for (let code = 1; code <= 16; code++) {
      const err = await rejection(callUnary(client, 'Unary', { fail_code: code, fail_message: `code ${status[code]}` }));
      assertStatus(err, code, `code ${status[code]}`);
    }
  });

  it('unknown method is unimplemented', async () => {
    const generic = makeGenericClient();
    try {
      const err = await rejection(new Promise((resolve, reject) => {
        generic.makeUnaryRequest('/interop.v1.Echo/NoSuchMethod', (x) => x, (x) => x, Buffer.alloc(0), (e, r) => (e ? reject(e) : resolve(r)));
      }));
      assertStatus(err, status.UNIMPLEMENTED);
    } finally {
      generic.close();
    }
  });

  it('unknown service is unimplemented', async () => {
    const generic = makeGenericClient();
    try {
      const err = await rejection(new Promise((resolve, reject) => {
        generic.makeUnaryRequest('/interop.v1.NoSuchService/Unary', (x) => x, (x) => x, Buffer.alloc(0), (e, r) => (e ? reject(e) : resolve(r)));
      }));
      assertStatus(err, status.UNIMPLEMENTED);
    } finally {
      generic.close();
    }
  });
});

describe('deadlines and cancellation', () => {
  let client;
  before(async () => { client = echoClient(); await waitReady(client); });
  after(() => client.close());

  it('unary slower than its deadline fails with DEADLINE_EXCEEDED', async () => {
    const started = Date.now();
    const err = await rejection(callUnary(client, 'Unary', { message: 'slow', delay_ms: 5000 }, { deadline: deadlineIn(300) }));
    assertStatus(err, status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 3000, 'the deadline did not cut the call short');
  });

  it('unary delay within its deadline succeeds', async () => {
    const started = Date.now();
    const { response } = await callUnary(client, 'Unary', { message: 'patient', delay_ms: 200 }, { deadline: deadlineIn(10_000) });
    assert.equal(response.message, 'patient');
    assert.ok(Date.now() - started >= 195);
  });

  it('server stream is cut by its deadline after some responses', async () => {
    const { responses, status: st } = await collect(client.ServerStream(
      { message: 't', count: 1000, interval_ms: 50 }, new grpc.Metadata(), { deadline: deadlineIn(1500) }));
    assert.equal(st.code, status.DEADLINE_EXCEEDED);
    assert.ok(responses.length > 0 && responses.length < 1000, `received ${responses.length}`);
    assert.deepEqual(responses.map((r) => r.index), responses.map((_, i) => i));
  });

  it('bidi request slower than its deadline fails with DEADLINE_EXCEEDED', async () => {
    const call = client.Bidi(new grpc.Metadata(), { deadline: deadlineIn(300) });
    const done = collect(call);
    call.write({ message: 'slow', delay_ms: 5000 });
    call.end();
    const { status: st } = await done;
    assert.equal(st.code, status.DEADLINE_EXCEEDED);
  });

  it('cancelled server stream leaves the channel usable', async () => {
    const call = client.ServerStream({ message: 'c', count: 1000, interval_ms: 20 });
    const done = collect(call);
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    const { status: st } = await done;
    assert.equal(st.code, status.CANCELLED);
    const { response } = await callUnary(client, 'Unary', { message: 'after' });
    assert.equal(response.message, 'after');
  });
});

describe('metadata', () => {
  let client;
  before(async () => { client = echoClient(); await waitReady(client); });
  after(() => client.close());

  const requestMetadata = () => metadataOf([
    ['x-echo-plain', 'value with spaces'],
    ['x-echo-data-bin', BINARY_VALUE],
    ['x-not-echoed', 'stays here'],
  ]);

  function assertEchoed(headers, trailers) {
    assert.ok(headers, 'no response headers');
    assert.deepEqual(headers.get('x-echo-plain'), ['value with spaces']);
    assert.deepEqual(headers.get('x-echo-data-bin'), [BINARY_VALUE]);
    assert.deepEqual(trailers.get('x-trailer-x-echo-plain'), ['value with spaces']);
    assert.deepEqual(trailers.get('x-trailer-x-echo-data-bin'), [BINARY_VALUE]);
    assert.deepEqual(headers.get('x-not-echoed'), []);
    assert.deepEqual(trailers.get('x-trailer-x-not-echoed'), []);
  }

  it('unary echoes metadata in headers, trailers and body', async () => {
    const { response, headers, trailers } = await callUnary(client, 'Unary', { message: 'md' }, { metadata: requestMetadata() });
    assertEchoed(headers, trailers);
    assert.deepEqual(response.metadata, {
      'x-echo-plain': 'value with spaces',
      'x-echo-data-bin': BINARY_VALUE.toString('base64'),
    });
  });

  it('server stream echoes metadata in headers and trailers', async () => {
    const { responses, headers, trailers, status: st } = await collect(client.ServerStream({ message: 'md', count: 2 }, requestMetadata()));
    assert.equal(st.code, status.OK);
    assert.equal(responses.length, 2);
    assertEchoed(headers, trailers);
  });

  it('client stream echoes metadata in headers and trailers', async () => {
    const { response, headers, trailers } = await callUnary(client, 'ClientStream', undefined, {
      metadata: requestMetadata(), requests: [{ message: 'x' }],
    });
    assert.equal(response.index, 1);
    assertEchoed(headers, trailers);
  });

  it('bidi echoes metadata in headers and trailers', async () => {
    const call = client.Bidi(requestMetadata());
    const done = collect(call);
    call.write({ message: 'x' });
    call.end();
    const { responses, headers, trailers } = await done;
    assert.deepEqual(responses.map((r) => r.message), ['x']);
    assertEchoed(headers, trailers);
  });

  it('failed call still carries echoed trailers', async () => {
    const err = await rejection(callUnary(client, 'Unary', { fail_code: status.NOT_FOUND, fail_message: 'gone' }, { metadata: requestMetadata() }));
    assertStatus(err, status.NOT_FOUND, 'gone');
    assert.deepEqual(err.metadata.get('x-trailer-x-echo-plain'), ['value with spaces']);
    assert.deepEqual(err.metadata.get('x-trailer-x-echo-data-bin'), [BINARY_VALUE]);
  });

  it('empty binary value and many keys are echoed', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => [`x-echo-k${i}`, `v${i}`]);
    entries.push(['x-echo-empty-bin', Buffer.alloc(0)]);
    const { response, headers } = await callUnary(client, 'Unary', { message: 'many' }, { metadata: metadataOf(entries) });
    for (let i = 0; i < 20; i++) assert.deepEqual(headers.get(`x-echo-k${i}`), [`v${i}`]);
    assert.equal(response.metadata['x-echo-k19'], 'v19');
    assert.equal(response.metadata['x-echo-empty-bin'], '');
  });
});

describe('gzip on the channel', () => {
  let client;
  before(async () => { client = echoClient(GZIP_CHANNEL); await waitReady(client); });
  after(() => client.close());

  it('unary with a compressible payload round-trips', async () => {
    const payload = Buffer.from('annotate '.repeat(20_000));
    const { response } = await callUnary(client, 'Unary', { message: 'gz', payload });
    assert.deepEqual(response.payload, payload);
  });

  it('unary with an incompressible payload round-trips', async () => {
    const payload = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919 + 13) % 251));
    const { response } = await callUnary(client, 'Unary', { message: 'gz', payload });
    assert.deepEqual(response.payload, payload);
  });

  it('all call shapes work compressed', async () => {
    const stream = await collect(client.ServerStream({ message: 's', count: 3, payload_size: 10_000 }));
    assert.equal(stream.status.code, status.OK);
    assert.equal(stream.responses.length, 3);
    const { response } = await callUnary(client, 'ClientStream', undefined, {
      requests: [1, 2, 3].map(() => ({ message: 'a', payload: Buffer.alloc(10_000, 'z') })),
    });
    assert.equal(response.index, 3);
    assert.equal(response.payload.length, 30_000);
    const call = client.Bidi();
    const done = collect(call);
    for (let i = 0; i < 4; i++) call.write({ message: String(i), payload: Buffer.alloc(5000, 'q') });
    call.end();
    const bidi = await done;
    assert.equal(bidi.status.code, status.OK);
    assert.deepEqual(bidi.responses.map((r) => r.message), ['0', '1', '2', '3']);
  });
});

describe('gzip per call', () => {
  let client;
  before(async () => { client = echoClient(); await waitReady(client); });
  after(() => client.close());

  // grpc-js compresses a single call when its metadata asks for it with this key.
  const gzipCall = () => metadataOf([['grpc-internal-encoding-request', 'gzip']]);

  it('unary compressed per call round-trips', async () => {
    const payload = Buffer.from('per call '.repeat(10_000));
    const { response } = await callUnary(client, 'Unary', { message: 'gz', payload }, { metadata: gzipCall() });
    assert.deepEqual(response.payload, payload);
  });

  it('bidi compressed per call round-trips', async () => {
    const call = client.Bidi(gzipCall());
    const done = collect(call);
    for (let i = 0; i < 3; i++) call.write({ message: String(i), payload: Buffer.alloc(20_000, 'b') });
    call.end();
    const { responses, status: st } = await done;
    assert.equal(st.code, status.OK);
    assert.deepEqual(responses.map((r) => r.payload.length), [20_000, 20_000, 20_000]);
  });

  it('compressed and plain calls share a channel', async () => {
    for (const gzip of [true, false, true]) {
      const { response } = await callUnary(client, 'Unary', { message: String(gzip), payload: Buffer.alloc(3000, 'm') },
        { metadata: gzip ? gzipCall() : new grpc.Metadata() });
      assert.equal(response.message, String(gzip));
    }
  });
});

describe('health', () => {
  let client;
  before(async () => { client = makeClient(protos.health.Health); await waitReady(client); });
  after(() => client.close());

  it('check of the whole server is serving', async () => {
    const { response } = await callUnary(client, 'Check', { service: '' });
    assert.equal(response.status, 'SERVING');
  });

  it('check of the echo service is serving', async () => {
    const { response } = await callUnary(client, 'Check', { service: 'interop.v1.Echo' });
    assert.equal(response.status, 'SERVING');
  });

  it('check of an unknown service is NOT_FOUND', async () => {
    const err = await rejection(callUnary(client, 'Check', { service: 'no.such.Service' }));
    assertStatus(err, status.NOT_FOUND);
  });

  it('watch sends the current status and stays open', async () => {
    const call = client.Watch({ service: 'interop.v1.Echo' });
    const done = collect(call);
    const first = await new Promise((resolve) => call.once('data', resolve));
    assert.equal(first.status, 'SERVING');
    // The stream must stay open while the status holds: nothing ends it within this window.
    const ended = await Promise.race([done.then(() => true), new Promise((resolve) => setTimeout(resolve, 500, false))]);
    assert.equal(ended, false, 'watch stream ended on its own');
    call.cancel();
    const { status: st, responses } = await done;
    assert.equal(st.code, status.CANCELLED);
    assert.equal(responses.length, 1);
  });

  it('watch of an unknown service reports SERVICE_UNKNOWN', async () => {
    const call = client.Watch({ service: 'no.such.Service' });
    const done = collect(call);
    const first = await new Promise((resolve) => call.once('data', resolve));
    assert.equal(first.status, 'SERVICE_UNKNOWN');
    call.cancel();
    await done;
  });
});

for (const [version, pkg, serviceName] of [
  ['v1', 'reflectionV1', 'grpc.reflection.v1.ServerReflection'],
  ['v1alpha', 'reflectionV1alpha', 'grpc.reflection.v1alpha.ServerReflection'],
]) {
  describe(`reflection ${version}`, () => {
    let client;
    before(async () => { client = makeClient(protos[pkg].ServerReflection); await waitReady(client); });
    after(() => client.close());

    async function ask(...requests) {
      const call = client.ServerReflectionInfo(new grpc.Metadata(), { deadline: deadlineIn(10_000) });
      const done = collect(call);
      for (const r of requests) call.write(r);
      call.end();
      const { responses, status: st } = await done;
      assert.equal(st.code, status.OK, st.details);
      assert.equal(responses.length, requests.length);
      return responses;
    }

    function fileDescriptors(reply) {
      assert.equal(reply.message_response, 'file_descriptor_response', JSON.stringify(reply.error_response));
      return reply.file_descriptor_response.file_descriptor_proto.map((b) => descriptor.FileDescriptorProto.decode(b));
    }

    it('list services names echo, health and reflection', async () => {
      const [reply] = await ask({ list_services: '' });
      assert.equal(reply.message_response, 'list_services_response');
      const names = reply.list_services_response.service.map((s) => s.name);
      for (const expected of ['interop.v1.Echo', 'grpc.health.v1.Health', serviceName]) assert.ok(names.includes(expected), `${expected} not in ${names}`);
    });

    it('file containing the echo service describes every method', async () => {
      const [reply] = await ask({ file_containing_symbol: 'interop.v1.Echo' });
      assert.equal(reply.original_request.file_containing_symbol, 'interop.v1.Echo');
      const echo = fileDescriptors(reply).find((f) => f.name === 'interop/v1/echo.proto');
      assert.ok(echo, 'interop/v1/echo.proto not among the files');
      assert.equal(echo.package, 'interop.v1');
      const service = echo.service.find((s) => s.name === 'Echo');
      const methods = Object.fromEntries(service.method.map((m) => [m.name, [m.inputType, m.outputType, !!m.clientStreaming, !!m.serverStreaming]]));
      assert.deepEqual(methods, {
        Unary: ['.interop.v1.EchoRequest', '.interop.v1.EchoResponse', false, false],
        ServerStream: ['.interop.v1.StreamRequest', '.interop.v1.EchoResponse', false, true],
        ClientStream: ['.interop.v1.EchoRequest', '.interop.v1.EchoResponse', true, false],
        Bidi: ['.interop.v1.EchoRequest', '.interop.v1.EchoResponse', true, true],
      });
      const request = echo.messageType.find((m) => m.name === 'EchoRequest');
      assert.deepEqual(request.field.map((f) => [f.name, f.number]), [
        ['message', 1], ['payload', 2], ['fail_code', 3], ['fail_message', 4], ['delay_ms', 5], ['response_size', 6]]);
    });

    it('reflected descriptor is enough to call the server', async () => {
      // What grpcurl does: build the message types from the reflected file alone, then call.
      const [reply] = await ask({ file_containing_symbol: 'interop.v1.Echo.Unary' });
      const set = descriptor.FileDescriptorSet.create({ file: fileDescriptors(reply) });
      const root = protobuf.Root.fromDescriptor(set);
      const Request = root.lookupType('interop.v1.EchoRequest');
      const Response = root.lookupType('interop.v1.EchoResponse');
      const generic = makeGenericClient();
      try {
        const answer = await new Promise((resolve, reject) => generic.makeUnaryRequest(
          '/interop.v1.Echo/Unary',
          (m) => Buffer.from(Request.encode(Request.create(m)).finish()),
          (b) => Response.decode(b),
          { message: 'via reflection', response_size: 4 },
          (e, r) => (e ? reject(e) : resolve(r))));
        assert.equal(answer.message, 'via reflection');
        assert.deepEqual(Buffer.from(answer.payload), Buffer.from('aaaa'));
      } finally {
        generic.close();
      }
    });

    it('file by filename answers the health proto', async () => {
      const [reply] = await ask({ file_by_filename: 'grpc/health/v1/health.proto' });
      const health = fileDescriptors(reply).find((f) => f.name === 'grpc/health/v1/health.proto');
      assert.ok(health);
      assert.equal(health.package, 'grpc.health.v1');
      assert.deepEqual(health.service.map((s) => s.name), ['Health']);
    });

    it('unknown symbol answers NOT_FOUND and the stream continues', async () => {
      const [missing, listed] = await ask({ file_containing_symbol: 'no.such.Thing' }, { list_services: '' });
      assert.equal(missing.message_response, 'error_response');
      assert.equal(missing.error_response.error_code, status.NOT_FOUND);
      assert.equal(listed.message_response, 'list_services_response');
    });
  });
}

describe('message size', () => {
  let client;
  before(async () => { client = echoClient(); await waitReady(client); });
  after(() => client.close());
  // Room for the fields around the payload (tag, length varint, message, ...).
  const MARGIN = 64;

  it('request just under the maximum is accepted', async () => {
    const size = maxMessageSize() - MARGIN;
    const { response } = await callUnary(client, 'Unary', { message: 'big', payload: Buffer.alloc(size, 'p') });
    assert.equal(response.payload.length, size);
  });

  it('response just under the maximum is delivered', async () => {
    const size = maxMessageSize() - MARGIN;
    const { response } = await callUnary(client, 'Unary', { message: 'big', response_size: size });
    assert.deepEqual(response.payload, Buffer.alloc(size, 'a'));
  });

  it('request over the maximum is RESOURCE_EXHAUSTED', async () => {
    const err = await rejection(callUnary(client, 'Unary', { message: 'too big', payload: Buffer.alloc(maxMessageSize() + 1, 'p') }));
    assertStatus(err, status.RESOURCE_EXHAUSTED);
  });

  it('response over the maximum is RESOURCE_EXHAUSTED', async () => {
    const err = await rejection(callUnary(client, 'Unary', { message: 'too big', response_size: maxMessageSize() + 1 }));
    assertStatus(err, status.RESOURCE_EXHAUSTED);
  });

  it('server keeps serving after an oversized request', async () => {
    await rejection(callUnary(client, 'Unary', { payload: Buffer.alloc(maxMessageSize() + 1, 'p') }));
    const { response } = await callUnary(client, 'Unary', { message: 'still here' });
    assert.equal(response.message, 'still here');
  });
});
