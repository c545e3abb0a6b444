// The Annotate contract as a grpc-js client learns it from the running server: server reflection.
//
// Only the two standard protocols a client must know before it can ask anything are loaded from
// protos/grpc with @grpc/proto-loader: grpc.reflection.v1 (to ask) and grpc.health.v1 (to wait for
// SERVING). The annotate.v1 services and messages come from the FileDescriptorProtos the server answers,
// loaded with proto-loader's loadFileDescriptorSetFromBuffer into grpc-js client constructors.
//
//   ANNOTATE_TARGET=host:port  ANNOTATE_TOKEN=<admin token>  [ANNOTATE_TLS_ROOT=<PEM that signed the server's>]
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const standardProtos = path.resolve(__dirname, '..', '..', '..', 'protos');
// Field names as in the .proto files; 64-bit integers and enums as strings; oneofs name their set field.
const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

function setting(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function credentials() {
  const root = process.env.ANNOTATE_TLS_ROOT;
  return root ? grpc.credentials.createSsl(fs.readFileSync(root)) : grpc.credentials.createInsecure();
}

const standard = grpc.loadPackageDefinition(protoLoader.loadSync(
  ['grpc/reflection/v1/reflection.proto', 'grpc/health/v1/health.proto'], { ...loaderOptions, includeDirs: [standardProtos] }));

function healthClient() {
  return new standard.grpc.health.v1.Health(setting('ANNOTATE_TARGET'), credentials());
}

function reflectionClient() {
  return new standard.grpc.reflection.v1.ServerReflection(setting('ANNOTATE_TARGET'), credentials());
}

// Sends reflection requests on one ServerReflectionInfo stream; resolves with the answers in order.
function reflect(requests) {
  const client = reflectionClient();
  return new Promise((resolve, reject) => {
    const answers = [];
    const call = client.ServerReflectionInfo({ deadline: Date.now() + 30_000 });
    call.on('data', (answer) => {
      answers.push(answer);
      if (answers.length === requests.length) call.end();
    });
    call.on('error', (err) => { client.close(); reject(err); });
    call.on('end', () => { client.close(); resolve(answers); });
    for (const request of requests) call.write(request);
  });
}

// Resolves once the server reports SERVING (it does after its start-up work: schema, first admin, seeds).
function waitServing(seconds = 60) {
  const client = healthClient();
  return new Promise((resolve, reject) => {
    const call = client.Watch({ service: '' }, { deadline: Date.now() + seconds * 1000 });
    call.on('data', (answer) => {
      if (answer.status === 'SERVING') { call.cancel(); client.close(); resolve(); }
    });
    call.on('error', (err) => { client.close(); if (err.code !== grpc.status.CANCELLED) reject(err); });
  });
}

// A FileDescriptorSet (field 1: repeated FileDescriptorProto) framed from the serialized files reflection
// answers, which is the form proto-loader reads. Written here because it is two lines of the wire format:
// tag 0x0a (field 1, length-delimited), the length as a varint, the bytes.
function descriptorSet(files) {
  const parts = [];
  for (const file of files) {
    const length = [];
    for (let n = file.length; ; n >>>= 7) {
      if (n < 0x80) { length.push(n); break; }
      length.push((n & 0x7f) | 0x80);
    }
    parts.push(Buffer.from([0x0a, ...length]), file);
  }
  return Buffer.concat(parts);
}

// Lists the services, fetches the files that define those of `pkg` (with their imports) and loads them.
async function discover(pkg = 'annotate.v1') {
  const [listed] = await reflect([{ list_services: '' }]);
  const services = listed.list_services_response.service.map((s) => s.name);
  const wanted = services.filter((s) => s.startsWith(`${pkg}.`));
  const answers = await reflect(wanted.map((s) => ({ file_containing_symbol: s })));
  const files = new Map(); // the same file comes with every service that imports it: keep one copy
  answers.forEach((answer, i) => {
    if (answer.message_response !== 'file_descriptor_response') throw new Error(`reflection has no file for ${wanted[i]}`);
    for (const file of answer.file_descriptor_response.file_descriptor_proto) files.set(file.toString('base64'), file);
  });
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet([...files.values()]), loaderOptions);
  return new Api(services, definition);
}

// Services and methods of what the server describes; calls by service and method name with a token.
class Api {
  constructor(services, definition) {
    this.services = services;
    this.definition = definition;
    this.called = new Set(); // "/package.Service/Method" of every call made, for the coverage check
    const loaded = grpc.loadPackageDefinition(definition);
    this.clients = {};
    for (const name of services.filter((s) => definition[s])) {
      const Client = name.split('.').reduce((scope, part) => scope[part], loaded);
      this.clients[name] = new Client(setting('ANNOTATE_TARGET'), credentials());
    }
  }

  // Every method of the package's services as "/package.Service/Method".
  methods(pkg = 'annotate.v1') {
    return this.services.filter((s) => s.startsWith(`${pkg}.`)).flatMap((s) => Object.values(this.definition[s]).map((m) => m.path));
  }

  method(service, method) {
    const found = this.definition[`annotate.v1.${service}`]?.[method];
    if (!found) throw new Error(`reflection describes no method ${method} of annotate.v1.${service}`);
    return found;
  }

  // Unary: a promise of the response (rejected with the ServiceError: code, details). Server streaming:
  // the call, a readable stream of messages (async-iterable; cancel() ends it).
  call(service, method, request, token, { seconds = 30 } = {}) {
    const descriptor = this.method(service, method);
    const metadata = new grpc.Metadata();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    const client = this.clients[`annotate.v1.${service}`];
    const options = { deadline: Date.now() + seconds * 1000 };
    this.called.add(descriptor.path);
    if (descriptor.responseStream) return client[method](request, metadata, options);
    return new Promise((resolve, reject) => {
      client[method](request, metadata, options, (err, response) => (err ? reject(err) : resolve(response)));
    });
  }

  close() {
    for (const client of Object.values(this.clients)) client.close();
  }
}

module.exports = { grpc, setting, reflect, waitServing, healthClient, discover };
