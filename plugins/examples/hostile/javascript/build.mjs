// Builds this plugin into a WebAssembly component with componentize-js:
//
//     node build.mjs [--out FILE]
//
// It reads package.json: "main" is the plugin's ES module, "name" names the
// output (NAME.wasm, next to this file, unless --out says otherwise) and
// "opsmith.wit" is the folder holding plugin.wit (default: wit). It calls the
// componentize-js library rather than `jco componentize`, whose --wit
// handling failed under Node 20.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(await readFile(resolve(here, 'package.json'), 'utf8'));
const { values } = parseArgs({ options: { out: { type: 'string', short: 'o' } } });
const out = resolve(values.out ?? resolve(here, `${pkg.name}.wasm`));

let componentize;
try {
  ({ componentize } = await import('@bytecodealliance/componentize-js'));
} catch {
  console.error('componentize-js is not installed here: run `npm install` (or `npm ci`) in ' + here);
  process.exit(1);
}

// componentize-js maps the source's folder into the engine only when it can
// place it relative to the working directory (and gets it wrong when that is
// `/`): work from here, whatever the caller's directory.
const callerDir = process.cwd();
process.chdir(here);
const { component } = await componentize({
  sourcePath: resolve(here, pkg.main),
  witPath: resolve(here, pkg.opsmith?.wit ?? 'wit'),
  worldName: 'renderer',
  // opsmith links no wasi:http: keep fetch() out of the component, or it
  // would not link. stdio, random and clocks stay: opsmith gives them
  // fixed, deterministic implementations.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
const sha256 = createHash('sha256').update(component).digest('hex');
const shown = relative(callerDir, out);
console.log(`wrote ${shown.startsWith('..') ? out : shown} (${component.length} bytes)`);
console.log(`sha256: ${sha256}`);
