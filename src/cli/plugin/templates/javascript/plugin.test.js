// Tests of {{name}}, run natively: `node --test` (or `npm test`) in this folder.
//
// They import plugin.js with Node and call `describe` and `render` as opsmith
// would. In the component, `import log from 'log'` is the WIT import; here a
// module hook stands in for it and keeps the lines.
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { test } from 'node:test';

const fakeLog = "export default function log(level, message) { (globalThis.opsmithLog ??= []).push([level, message]); }";
const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === 'log') return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(fakeLog)}), shortCircuit: true };
  return next(specifier, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hooks));
const { describe, render, RenderError } = await import('./plugin.js');

const SITE = {
  apiVersion: 'opsmith.dev/v1alpha1',
  kind: 'SiteInventory',
  metadata: { name: 'example' },
  spec: {
    baseDomain: 'example.org',
    hosts: [
      { name: 'example-cp-0', role: 'control-plane' },
      { name: 'example-worker-0', role: 'worker' },
    ],
  },
};

function run(config) {
  return render({
    component: 'example',
    site: JSON.stringify(SITE),
    catalog: JSON.stringify({ kind: 'AppCatalog', spec: { components: [] } }),
    config: JSON.stringify(config),
  });
}

test('describe', () => {
  const info = describe();
  assert.equal(info.name, '{{name}}');
  assert.equal(JSON.parse(info.configSchema).additionalProperties, false);
});

test('summarises the example site', () => {
  const objects = JSON.parse(run({}).objects);
  assert.equal(objects.length, 1);
  assert.deepEqual(objects[0].metadata, { name: 'example-summary', namespace: 'default' });
  assert.deepEqual(objects[0].data, { cluster: 'example.example.org', hosts: '2', controlPlane: '1' });
  assert.deepEqual(globalThis.opsmithLog.at(-1), ['info', 'summarised 2 hosts']);
});

test('same input, same bytes', () => {
  assert.equal(run({ namespace: 'x' }).objects, run({ namespace: 'x' }).objects);
});

test('rejects unknown config', () => {
  assert.throws(() => run({ nope: 1 }), (err) => err instanceof RenderError && err.payload.pointer === '/config/nope');
});
