#!/usr/bin/env node
// A second, independent implementation of tests/interop/protos/interop/v1/echo.proto
// on @grpc/grpc-js. It serves the same contract as our C# interop server
// (Annotate.Grpc.InteropServer): the Echo methods, grpc.health.v1.Health and server
// reflection (v1 and v1alpha). Uses:
//   - the C# client's interop tests call it on every call shape;
//   - the transport benchmark compares our server against it;
//   - the Python and Node suites can be validated against it.
//
// Command line (same contract as the C# server):
//   node echo-server.js --port <n> [--host 127.0.0.1] [--max-message-size <bytes>]
//                       [--tls-cert <cert.pem> --tls-key <key.pem>] [--exit-on-stdin-close]
// Port 0 picks a free port. When ready it prints exactly one stdout line:
//   listening on http://127.0.0.1:<port>        (https:// with --tls-cert)
// It stops on SIGTERM/SIGINT or when stdin closes (when --exit-on-stdin-close is given),
// so a parent process that dies does not leave it running.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const descriptor = require('protobufjs/ext/descriptor');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const interopProtos = path.resolve(__dirname, '..', 'protos');
const standardProtos = path.join(repoRoot, 'protos');

// protobufjs names the files it re-serializes after their package; reflection clients
// expect the real file names, so they are restored from this table (one file per package here).
const FILES = {
  'interop.v1': 'interop/v1/echo.proto',
  'grpc.health.v1': 'grpc/health/v1/health.proto',
  'grpc.reflection.v1': 'grpc/reflection/v1/reflection.proto',
  'grpc.reflection.v1alpha': 'grpc/reflection/v1alpha/reflection.proto',
};

function parseArgs(argv) {
  const options = { port: 0, host: '127.0.0.1', maxMessageSize: 4 * 1024 * 1024, exitOnStdinClose: false, tlsCert: null, tlsKey: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--port') options.port = Number.parseInt(next(), 10);
    else if (arg === '--host') options.host = next();
    else if (arg === '--max-message-size') options.maxMessageSize = Number.parseInt(next(), 10);
    else if (arg === '--exit-on-stdin-close') options.exitOnStdinClose = true;
    else if (arg === '--tls-cert') options.tlsCert = next();
    else if (arg === '--tls-key') options.tlsKey = next();
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0) throw new Error('--port must be a non-negative integer');
  if (!Number.isInteger(options.maxMessageSize) || options.maxMessageSize <= 0) throw new Error('--max-message-size must be positive');
  if (!options.tlsCert !== !options.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  return options;
}

const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

function load(file, includeDir) {
  return protoLoader.loadSync(file, { ...loaderOptions, includeDirs: [includeDir] });
}

const packages = {
  echo: load('interop/v1/echo.proto', interopProtos),
  health: load('grpc/health/v1/health.proto', standardProtos),
  reflectionV1: load('grpc/reflection/v1/reflection.proto', standardProtos),
  reflectionV1alpha: load('grpc/reflection/v1alpha/reflection.proto', standardProtos),
};

// --- metadata echo -------------------------------------------------------------------

const ECHO_PREFIX = 'x-echo-';

// Request metadata whose key starts with "x-echo-": [key, values[]] pairs.
function echoedEntries(metadata) {
  const entries = [];
  for (const [key, values] of Object.entries(collectAll(metadata))) {
    if (key.startsWith(ECHO_PREFIX)) entries.push([key, values]);
  }
  return entries;
}

// Metadata.getMap() keeps one value per key; the echo keeps every value.
function collectAll(metadata) {
  const all = {};
  for (const key of Object.keys(metadata.getMap())) all[key] = metadata.get(key);
  return all;
}

function responseHeaders(entries) {
  const md = new grpc.Metadata();
  for (const [key, values] of entries) for (const v of values) md.add(key, v);
  return md;
}

function responseTrailers(entries) {
  const md = new grpc.Metadata();
  for (const [key, values] of entries) for (const v of values) md.add(`x-trailer-${key}`, v);
  return md;
}

// EchoResponse.metadata: the value as received, base64 of the bytes for "-bin" keys;
// several values of one key are joined with "," (as HTTP/2 would fold them).
function metadataMap(entries) {
  const map = {};
  for (const [key, values] of entries) {
    map[key] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v))).join(',');
  }
  return map;
}

// --- helpers -----------------------------------------------------------------------------

function statusError(code, message, trailers) {
  const err = new Error(message);
  err.code = code;
  err.details = message;
  if (trailers) err.metadata = trailers;
  return err;
}

// Waits `ms`, resolving false early when the call is cancelled (client cancel or deadline).
function delay(call, ms) {
  if (!ms || ms <= 0) return Promise.resolve(!call.cancelled);
  return new Promise((resolve) => {
    const onCancel = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      call.removeListener('cancelled', onCancel);
      resolve(true);
    }, ms);
    call.once('cancelled', onCancel);
  });
}

function filled(size) {
  return Buffer.alloc(size, 0x61);
}

function echoOf(request, index, entries) {
  return {
    message: request.message,
    payload: request.response_size > 0 ? filled(request.response_size) : request.payload,
    index,
    metadata: metadataMap(entries),
  };
}

// --- Echo service ------------------------------------------------------------------------

const echoService = {
  async Unary(call, callback) {
    const entries = echoedEntries(call.metadata);
    call.sendMetadata(responseHeaders(entries));
    const trailers = responseTrailers(entries);
    const request = call.request;
    if (!(await delay(call, request.delay_ms))) return;
    if (request.fail_code !== 0) {
      callback(statusError(request.fail_code, request.fail_message, trailers));
      return;
    }
    callback(null, echoOf(request, 0, entries), trailers);
  },

  async ServerStream(call) {
    const entries = echoedEntries(call.metadata);
    call.sendMetadata(responseHeaders(entries));
    const trailers = responseTrailers(entries);
    const request = call.request;
    for (let i = 0; i < request.count; i++) {
      if (i > 0 && !(await delay(call, request.interval_ms))) return;
      if (call.cancelled) return;
      const ok = call.write({
        message: `${request.message} ${i}`,
        payload: filled(request.payload_size),
        index: i,
        metadata: metadataMap(entries),
      });
      // Respect flow control: wait for the transport to drain before writing more.
      if (!ok) await new Promise((resolve) => call.once('drain', resolve));
    }
    if (request.fail_code !== 0) {
      call.emit('error', statusError(request.fail_code, request.fail_message, trailers));
      return;
    }
    call.end(trailers);
  },

  ClientStream(call, callback) {
    const entries = echoedEntries(call.metadata);
    call.sendMetadata(responseHeaders(entries));
    const trailers = responseTrailers(entries);
    const messages = [];
    const payloads = [];
    call.on('data', (request) => {
      messages.push(request.message);
      payloads.push(request.payload);
    });
    call.on('end', () => {
      callback(null, {
        message: messages.join(','),
        payload: Buffer.concat(payloads),
        index: messages.length,
        metadata: metadataMap(entries),
      }, trailers);
    });
    call.on('error', () => { /* client went away: nothing to answer */ });
  },

  Bidi(call) {
    const entries = echoedEntries(call.metadata);
    call.sendMetadata(responseHeaders(entries));
    const trailers = responseTrailers(entries);
    let ordinal = 0;
    let finished = false;
    // Requests are answered strictly in order, even when one of them carries a delay.
    let chain = Promise.resolve();
    call.on('data', (request) => {
      const index = ordinal++;
      chain = chain.then(async () => {
        if (finished) return;
        if (!(await delay(call, request.delay_ms))) {
          finished = true;
          return;
        }
        if (request.fail_code !== 0) {
          finished = true;
          call.emit('error', statusError(request.fail_code, request.fail_message, trailers));
          return;
        }
        call.write(echoOf(request, index, entries));
      });
    });
    call.on('end', () => {
      chain = chain.then(() => {
        if (finished) return;
        finished = true;
        call.end(trailers);
      });
    });
    call.on('error', () => { finished = true; });
  },
};

// --- Health --------------------------------------------------------------------------

const SERVED = ['interop.v1.Echo', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

function healthOf(service) {
  if (service === '' || SERVED.includes(service)) return 'SERVING';
  return null;
}

const healthService = {
  Check(call, callback) {
    const status = healthOf(call.request.service);
    if (status === null) {
      callback(statusError(grpc.status.NOT_FOUND, `unknown service ${call.request.service}`));
      return;
    }
    callback(null, { status });
  },
  Watch(call) {
    // Statuses never change in this server: send the current one and keep the stream
    // open until the client cancels, as the health protocol asks.
    call.write({ status: healthOf(call.request.service) ?? 'SERVICE_UNKNOWN' });
    call.on('cancelled', () => call.end());
  },
};

// --- Reflection ------------------------------------------------------------------------

// protobufjs names a map's entry type after the field ("Metadata") and refers to it by a
// relative name; protoc (and every reflection client's descriptor pool) expects
// "<CamelCaseField>Entry" referenced by its full name. Rewritten in place.
function fixMapEntries(messages, scope) {
  for (const message of messages ?? []) {
    const fullName = `${scope}.${message.name}`;
    const nested = new Map((message.nestedType ?? []).map((n) => [n.name, n]));
    for (const field of message.field ?? []) {
      const entry = field.typeName && nested.get(field.typeName);
      if (!entry || !entry.options?.mapEntry) continue;
      const camel = field.name.split('_').filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
      entry.name = `${camel}Entry`;
      field.typeName = `${fullName}.${entry.name}`;
    }
    fixMapEntries(message.nestedType, fullName);
  }
}

// Every file this server can describe: name -> { bytes, proto, symbols }.
function buildFileIndex() {
  const byName = new Map();
  const all = [packages.echo, packages.health, packages.reflectionV1, packages.reflectionV1alpha];
  for (const pkg of all) {
    for (const def of Object.values(pkg)) {
      const serialized = def.fileDescriptorProtos ?? def.requestType?.fileDescriptorProtos;
      if (!serialized) continue;
      for (const bytes of serialized) {
        const proto = descriptor.FileDescriptorProto.decode(bytes);
        const name = FILES[proto.package];
        if (!name || byName.has(name)) continue;
        proto.name = name;
        fixMapEntries(proto.messageType, proto.package ? `.${proto.package}` : '');
        const symbols = new Set();
        const prefix = proto.package ? `${proto.package}.` : '';
        const addMessages = (messages, scope) => {
          for (const m of messages ?? []) {
            symbols.add(scope + m.name);
            addMessages(m.nestedType, `${scope}${m.name}.`);
            for (const e of m.enumType ?? []) symbols.add(`${scope}${m.name}.${e.name}`);
          }
        };
        addMessages(proto.messageType, prefix);
        for (const e of proto.enumType ?? []) symbols.add(prefix + e.name);
        for (const s of proto.service ?? []) {
          symbols.add(prefix + s.name);
          for (const m of s.method ?? []) symbols.add(`${prefix}${s.name}.${m.name}`);
        }
        byName.set(name, {
          bytes: Buffer.from(descriptor.FileDescriptorProto.encode(proto).finish()),
          symbols,
        });
      }
    }
  }
  return byName;
}

function reflectionService() {
  const files = buildFileIndex();
  const answer = (request) => {
    const base = { valid_host: request.host, original_request: request };
    const fileResponse = (file) => ({ ...base, file_descriptor_response: { file_descriptor_proto: [file.bytes] } });
    const notFound = (what) => ({ ...base, error_response: { error_code: grpc.status.NOT_FOUND, error_message: `${what} not found` } });
    switch (request.message_request) {
      case 'list_services':
        return { ...base, list_services_response: { service: SERVED.map((name) => ({ name })) } };
      case 'file_by_filename': {
        const file = files.get(request.file_by_filename);
        return file ? fileResponse(file) : notFound(`file ${request.file_by_filename}`);
      }
      case 'file_containing_symbol': {
        for (const file of files.values()) {
          if (file.symbols.has(request.file_containing_symbol)) return fileResponse(file);
        }
        return notFound(`symbol ${request.file_containing_symbol}`);
      }
      default:
        return { ...base, error_response: { error_code: grpc.status.UNIMPLEMENTED, error_message: `${request.message_request} is not supported` } };
    }
  };
  return {
    ServerReflectionInfo(call) {
      call.on('data', (request) => call.write(answer(request)));
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  };
}

// --- main --------------------------------------------------------------------------------

function main() {
  const options = parseArgs(process.argv.slice(2));
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageSize,
    'grpc.max_send_message_length': options.maxMessageSize,
  });
  const proto = (pkg) => grpc.loadPackageDefinition(pkg);
  server.addService(proto(packages.echo).interop.v1.Echo.service, echoService);
  server.addService(proto(packages.health).grpc.health.v1.Health.service, healthService);
  const reflection = reflectionService();
  server.addService(proto(packages.reflectionV1).grpc.reflection.v1.ServerReflection.service, reflection);
  server.addService(proto(packages.reflectionV1alpha).grpc.reflection.v1alpha.ServerReflection.service, reflection);

  const credentials = options.tlsCert
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: fs.readFileSync(options.tlsCert), private_key: fs.readFileSync(options.tlsKey) }])
    : grpc.ServerCredentials.createInsecure();
  const scheme = options.tlsCert ? 'https' : 'http';
  server.bindAsync(`${options.host}:${options.port}`, credentials, (err, port) => {
    if (err) {
      process.stderr.write(`bind failed: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`listening on ${scheme}://${options.host}:${port}\n`);
  });

  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (options.exitOnStdinClose) {
    process.stdin.resume();
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
  }
}

main();
