// Builds the browser reader into dist/ (or the folder given with --out):
//   1. TypeScript clients and messages from protos/annotate/v1 with protobuf-ts (a protoc plugin), into gen/;
//   2. a type check of src/ and gen/ (tsc), then one bundle of src/main.ts with esbuild, plus index.html and app.css, into the output folder.
// protoc is found in this order: $PROTOC; the protoc that Grpc.Tools brings into the NuGet package folder
// ($NUGET_PACKAGES or ~/.nuget/packages; restoring the solution puts it there); `protoc` on PATH.
// Usage: node build.mjs [--out <dir>]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const protos = resolve(here, '../protos');
const outArg = process.argv.indexOf('--out');
const out = resolve(outArg > 0 ? process.argv[outArg + 1] : join(here, 'dist'));
const gen = join(here, 'gen');

function findProtoc() {
  if (process.env.PROTOC) return { protoc: process.env.PROTOC, include: null };
  const arch = { x64: 'linux_x64', arm64: 'linux_arm64' }[process.arch];
  const roots = [process.env.NUGET_PACKAGES, join(homedir(), '.nuget', 'packages')].filter(Boolean);
  for (const root of roots) {
    const tools = join(root, 'grpc.tools');
    if (!arch || !existsSync(tools)) continue;
    const versions = readdirSync(tools).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).reverse();
    for (const v of versions) {
      const protoc = join(tools, v, 'tools', arch, 'protoc');
      if (existsSync(protoc)) return { protoc, include: join(tools, v, 'build', 'native', 'include') };
    }
  }
  return { protoc: 'protoc', include: null }; // PATH; Debian's protobuf-compiler knows its own well-known types
}

const { protoc, include } = findProtoc();
rmSync(gen, { recursive: true, force: true });
mkdirSync(gen, { recursive: true });
const files = readdirSync(join(protos, 'annotate', 'v1')).filter(f => f.endsWith('.proto')).map(f => `annotate/v1/${f}`);
execFileSync(protoc, [
  `--plugin=protoc-gen-ts=${join(here, 'node_modules', '.bin', 'protoc-gen-ts')}`,
  `--ts_out=${gen}`,
  // Positions and versions are int64 on the wire; as JS numbers they stay exact up to 2^53.
  '--ts_opt=long_type_number,client_generic,server_none,optimize_code_size',
  `-I${protos}`,
  ...(include ? [`-I${include}`] : []),
  ...files,
], { stdio: 'inherit' });

// esbuild only strips types; the compiler checks them (and the generated clients against the page).
execFileSync(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', here], { stdio: 'inherit' });

mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) cpSync(join(here, 'src', f), join(out, f));
console.log(`browser reader built into ${out}`);
