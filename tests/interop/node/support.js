// Shared helpers of the Node interop suite: the target, generated clients and
// promise wrappers that also capture response headers, trailers and status.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const interopProtos = path.resolve(__dirname, '..', 'protos');
const standardProtos = path.resolve(__dirname, '..', '..', '..', 'protos');

function target() {
  const value = process.env.INTEROP_TARGET;
  if (!value) throw new Error('INTEROP_TARGET is not set (expected host:port of the interop server)');
  return value;
}

function maxMessageSize() {
  return Number.parseInt(process.env.INTEROP_MAX_MESSAGE_SIZE ?? `${4 * 1024 * 1024}`, 10);
}

const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

function loadPackage(file, includeDir) {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, { ...loaderOptions, includeDirs: [includeDir] }));
}

const protos = {
  echo: loadPackage('interop/v1/echo.proto', interopProtos).interop.v1,
  health: loadPackage('grpc/health/v1/health.proto', standardProtos).grpc.health.v1,
  reflectionV1: loadPackage('grpc/reflection/v1/reflection.proto', standardProtos).grpc.reflection.v1,
  reflectionV1alpha: loadPackage('grpc/reflection/v1alpha/reflection.proto', standardProtos).grpc.reflection.v1alpha,
};

// The client's own limits stay out of the way so that the server's are the ones under test.
function channelOptions(extra = {}) {
  return {
    'grpc.max_receive_message_length': 4 * maxMessageSize() + 1024 * 1024,
    'grpc.max_send_message_length': -1,
    ...extra,
  };
}

const GZIP_CHANNEL = { 'grpc.default_compression_algorithm': 2 /* gzip */ };

// INTEROP_TLS_ROOT names the PEM certificate that signed the server's: the suite then
// speaks TLS (HTTP/2 negotiated by ALPN); the certificate is issued to "localhost".
function credentials() {
  const root = process.env.INTEROP_TLS_ROOT;
  return root ? grpc.credentials.createSsl(fs.readFileSync(root)) : grpc.credentials.createInsecure();
}

function tlsOptions() {
  return process.env.INTEROP_TLS_ROOT ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' } : {};
}

function makeClient(Client, extraOptions) {
  return new Client(target(), credentials(), channelOptions({ ...tlsOptions(), ...extraOptions }));
}

// A bare client for calls by path (unknown methods, types built from reflection).
function makeGenericClient() {
  return new grpc.Client(target(), credentials(), channelOptions(tlsOptions()));
}

function waitReady(client, seconds = 10) {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + seconds * 1000, (err) => (err ? reject(err) : resolve()));
  });
}

function metadataOf(entries) {
  const md = new grpc.Metadata();
  for (const [key, value] of entries) md.add(key, value);
  return md;
}

function deadlineIn(ms) {
  return new Date(Date.now() + ms);
}

// Attaches header and status listeners to a call; resolves with them when the call ends.
function observe(call) {
  const seen = { headers: null, status: null };
  call.on('metadata', (md) => { seen.headers = md; });
  const statusPromise = new Promise((resolve) => call.on('status', (status) => { seen.status = status; resolve(status); }));
  return { seen, statusPromise };
}

// Unary or client-streaming call: resolves { response, headers, trailers }; rejects with the
// ServiceError extended by `headers`.
function callUnary(client, method, request, { metadata = new grpc.Metadata(), deadline, requests } = {}) {
  return new Promise((resolve, reject) => {
    const options = deadline ? { deadline } : {};
    let result;
    const finish = (err, response) => {
      result = { err, response };
    };
    const call = requests === undefined
      ? client[method](request, metadata, options, finish)
      : client[method](metadata, options, finish);
    const { seen, statusPromise } = observe(call);
    if (requests !== undefined) {
      for (const r of requests) call.write(r);
      call.end();
    }
    statusPromise.then((status) => {
      // The callback runs before or with 'status'; read it on the next turn.
      setImmediate(() => {
        if (result.err) {
          result.err.headers = seen.headers;
          reject(result.err);
        } else {
          resolve({ response: result.response, headers: seen.headers, trailers: status.metadata });
        }
      });
    });
  });
}

// Streaming response: collects every message; resolves { responses, headers, trailers, status }
// (status.code may be non-zero: the caller decides).
function collect(call) {
  const responses = [];
  const { seen, statusPromise } = observe(call);
  call.on('data', (r) => responses.push(r));
  call.on('error', () => { /* the status carries it */ });
  return statusPromise.then((status) => ({ responses, headers: seen.headers, trailers: status.metadata, status }));
}

module.exports = {
  grpc,
  protos,
  target,
  maxMessageSize,
  makeClient,
  makeGenericClient,
  waitReady,
  metadataOf,
  deadlineIn,
  callUnary,
  collect,
  GZIP_CHANNEL,
};
