// Native tests of the slo-rules plugin: `node --test` (or `npm test`) in this folder.
//
// They import plugin.js with Node and call `describe` and `render` as opsmith
// would. In the component, `import log from 'log'` is the WIT import; here a
// module hook stands in for it and records the lines.
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
  spec: { baseDomain: 'example.org', hosts: [] },
};

const API = {
  name: 'api-availability',
  objective: 99.9,
  metric: { errors: 'apiserver_request_total{code=~"5.."}', total: 'apiserver_request_total' },
};
const INGRESS = {
  name: 'ingress',
  objective: 99.5,
  window: '4w',
  expr: 'sum(rate(haproxy_backend_http_responses_total{code="5xx"}[$window])) / sum(rate(haproxy_backend_http_responses_total[$window]))',
  labels: { team: 'sre' },
};

function run(config) {
  return render({
    component: 'slo-rules',
    site: JSON.stringify(SITE),
    catalog: JSON.stringify({ kind: 'AppCatalog', spec: { components: [] } }),
    config: JSON.stringify(config),
  });
}

function failure(config) {
  try {
    run(config);
  } catch (err) {
    assert.ok(err instanceof RenderError, `not a RenderError: ${err}`);
    return err.payload;
  }
  assert.fail('render succeeded');
}

test('describe declares PrometheusRule and a closed, documented schema', () => {
  const info = describe();
  assert.equal(info.name, 'slo-rules');
  assert.deepEqual(info.emits, [{ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', namespaces: ['*'] }]);
  const schema = JSON.parse(info.configSchema);
  assert.equal(schema.additionalProperties, false);
  for (const [name, property] of Object.entries(schema.properties)) {
    assert.equal(typeof property.description, 'string', name);
  }
});

test('one PrometheusRule per SLO, sorted by name', () => {
  const out = run({ slos: [INGRESS, API] });
  const objects = JSON.parse(out.objects);
  assert.deepEqual(objects.map((o) => o.metadata.name), ['slo-api-availability', 'slo-ingress']);
  assert.equal(objects[0].metadata.namespace, 'openshift-monitoring');
  assert.deepEqual(out.files, []);
  assert.deepEqual(out.diagnostics, []);
  assert.ok(globalThis.opsmithLog.some(([level, line]) => level === 'info' && line.includes('2 PrometheusRule')));
});

test('recording rules cover every alert window and the compliance period', () => {
  const [rule] = JSON.parse(run({ slos: [API] }).objects);
  const records = rule.spec.groups[0].rules;
  assert.deepEqual(
    records.map((r) => r.record),
    ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'].map((w) => `slo:sli_error:ratio_rate${w}`).concat('slo:error_budget:remaining'),
  );
  assert.equal(records[0].expr, 'sum(rate(apiserver_request_total{code=~"5.."}[5m])) / sum(rate(apiserver_request_total[5m]))');
  assert.equal(records.at(-1).expr, '1 - (slo:sli_error:ratio_rate30d{slo="api-availability"} / 0.001)');
});

test('burn-rate thresholds follow the SRE workbook for 30 days', () => {
  const [rule] = JSON.parse(run({ slos: [API] }).objects);
  const [page, ticket] = rule.spec.groups[1].rules;
  assert.equal(page.alert, 'ApiAvailabilityErrorBudgetBurn');
  assert.equal(page.labels.severity, 'critical');
  assert.match(page.expr, /ratio_rate1h\{slo="api-availability"\} > \(14\.4 \* 0\.001\)/);
  assert.match(page.expr, /ratio_rate6h\{slo="api-availability"\} > \(6 \* 0\.001\)/);
  assert.equal(ticket.labels.severity, 'warning');
  assert.match(ticket.expr, /ratio_rate1d\{slo="api-availability"\} > \(3 \* 0\.001\)/);
  assert.match(ticket.expr, /ratio_rate3d\{slo="api-availability"\} > \(1 \* 0\.001\)/);
});

test('expr gets the window; labels reach the alerts in a fixed order', () => {
  const [rule] = JSON.parse(run({ namespace: 'monitoring', slos: [INGRESS] }).objects);
  assert.equal(rule.metadata.namespace, 'monitoring');
  assert.ok(rule.spec.groups[0].rules.some((r) => r.record === 'slo:sli_error:ratio_rate4w' && r.expr.includes('[4w]')));
  assert.deepEqual(Object.keys(rule.spec.groups[1].rules[0].labels), ['severity', 'slo', 'team']);
  // 4w = 672h: 2% in 1h is a burn rate of 13.44.
  assert.match(rule.spec.groups[1].rules[0].expr, /\(13\.44 \* 0\.005\)/);
});

test('the same input gives the same bytes', () => {
  assert.equal(run({ slos: [API, INGRESS] }).objects, run({ slos: [API, INGRESS] }).objects);
});

test('no SLOs, no objects', () => {
  assert.equal(run({}).objects, '[]');
});

test('errors point at the SLO that is wrong', () => {
  assert.deepEqual(failure({ slos: [API, { ...INGRESS, name: API.name }] }).pointer, '/config/slos/1/name');
  assert.equal(failure({ slos: [{ ...INGRESS, expr: 'rate(x[5m])' }] }).pointer, '/config/slos/0/expr');
  assert.equal(failure({ slos: [{ ...API, window: '2d' }] }).pointer, '/config/slos/0/window');
});

test('a very tight objective gets a warning', () => {
  const out = run({ slos: [{ ...API, objective: 99.999 }] });
  assert.deepEqual(out.diagnostics.map((d) => [d.severity, d.pointer]), [['warning', '/config/slos/0/objective']]);
});
