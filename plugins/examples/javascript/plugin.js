// `slo-rules`: an opsmith plugin in JavaScript.
//
// It turns service-level objectives declared in the catalog into
// PrometheusRules (monitoring.coreos.com/v1): recording rules for the error
// ratio over the windows the alerts need, the error budget left, and
// multi-window, multi-burn-rate alerts as in Google's SRE workbook ("Alerting
// on SLOs"): page when 2% of the budget burns in an hour or 5% in six hours,
// open a ticket when 10% burns in a day or in three days.
//
// componentize-js maps the WIT world `renderer` onto this ES module:
//   - the exports `describe` and `render` are exported functions;
//   - records are plain objects with camelCase fields (`configSchema`,
//     `apiVersion`), enums are their case names as strings ('info'),
//     `option<T>` is the value or undefined;
//   - `result<render-output, render-error>`: returning a value is `ok`;
//     throwing a value with a `payload` is `err(payload)` (see RenderError);
//   - the world's import `log` is the default export of the module 'log'.
import log from 'log';

const NAME = 'slo-rules';
const VERSION = '0.1.0';

// The look-back windows of the burn-rate alerts, and the recording rules they read.
const ALERTS = [
  // severity, long window, short window, share of the error budget burnt in the long window
  { severity: 'critical', long: '1h', short: '5m', budgetShare: 0.02, for: '2m' },
  { severity: 'critical', long: '6h', short: '30m', budgetShare: 0.05, for: '15m' },
  { severity: 'warning', long: '1d', short: '2h', budgetShare: 0.1, for: '1h' },
  { severity: 'warning', long: '3d', short: '6h', budgetShare: 0.1, for: '3h' },
];

const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const WINDOW_PATTERN = '^[1-9][0-9]*[dw]$';

const CONFIG_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    namespace: {
      description: 'Namespace of the PrometheusRules.',
      type: 'string',
      pattern: NAME_PATTERN,
      default: 'openshift-monitoring',
    },
    slos: {
      description: 'The service-level objectives: one PrometheusRule each.',
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'objective'],
        oneOf: [{ required: ['expr'] }, { required: ['metric'] }],
        properties: {
          name: { description: 'Name of the SLO (a DNS label).', type: 'string', pattern: NAME_PATTERN, maxLength: 50 },
          description: { description: 'What the SLO promises, for the alerts.', type: 'string' },
          objective: {
            description: 'Target share of good events, in percent (99.9).',
            type: 'number',
            exclusiveMinimum: 0,
            exclusiveMaximum: 100,
          },
          window: {
            description: 'Compliance period: days (30d) or weeks (4w), at least 3d.',
            type: 'string',
            pattern: WINDOW_PATTERN,
            default: '30d',
          },
          expr: {
            description: 'PromQL of the error ratio, with `$window` where the range goes.',
            type: 'string',
            minLength: 1,
          },
          metric: {
            description: 'Counters whose rates give the error ratio: errors / total.',
            type: 'object',
            additionalProperties: false,
            required: ['errors', 'total'],
            properties: {
              errors: { description: 'Selector of the failed events, e.g. `http_requests_total{code=~"5.."}`.', type: 'string', minLength: 1 },
              total: { description: 'Selector of all events, e.g. `http_requests_total`.', type: 'string', minLength: 1 },
            },
          },
          labels: {
            description: 'Extra labels on the alerts (team, service).',
            type: 'object',
            additionalProperties: { type: 'string' },
            default: {},
          },
        },
      },
    },
  },
};

/** A failed render, pointing into the input. componentize-js sends `payload` as the WIT `render-error`. */
export class RenderError extends Error {
  constructor(pointer, message) {
    super(message);
    this.payload = { message, pointer };
  }
}

export function describe() {
  return {
    name: NAME,
    version: VERSION,
    description: 'PrometheusRules with burn-rate alerts for the SLOs declared in the catalog',
    configSchema: JSON.stringify(CONFIG_SCHEMA),
    emits: [{ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', namespaces: ['*'] }],
  };
}

export function render(input) {
  try {
    const config = { namespace: 'openshift-monitoring', slos: [], ...JSON.parse(input.config) };
    const objects = rules(config);
    log('info', `${objects.length} PrometheusRule(s) for component ${input.component}`);
    return { objects: JSON.stringify(objects), files: [], diagnostics: diagnostics(config) };
  } catch (err) {
    if (err instanceof RenderError) throw err;
    // Anything else would trap with a bare "unreachable": name it instead.
    throw new RenderError('', `slo-rules failed: ${err && err.message ? err.message : String(err)}`);
  }
}

function rules(config) {
  const seen = new Map();
  config.slos.forEach((slo, index) => {
    if (seen.has(slo.name)) {
      throw new RenderError(`/config/slos/${index}/name`, `SLO \`${slo.name}\` is declared twice (first at /config/slos/${seen.get(slo.name)})`);
    }
    seen.set(slo.name, index);
  });
  // Sorted by name: reordering the catalog does not change the output.
  return config.slos
    .map((slo, index) => ({ slo, index }))
    .sort((a, b) => (a.slo.name < b.slo.name ? -1 : a.slo.name > b.slo.name ? 1 : 0))
    .map(({ slo, index }) => prometheusRule(slo, index, config.namespace));
}

function diagnostics(config) {
  return config.slos.flatMap((slo, index) =>
    slo.objective > 99.99
      ? [{ severity: 'warning', message: `an objective of ${slo.objective}% leaves ${number(errorBudget(slo.objective) * 100)}% of errors: the alerts will be noisy`, pointer: `/config/slos/${index}/objective` }]
      : [],
  );
}

function prometheusRule(slo, index, namespace) {
  const at = `/config/slos/${index}`;
  const window = slo.window ?? '30d';
  const windowHours = hours(window, `${at}/window`);
  if (windowHours < 72) throw new RenderError(`${at}/window`, `window ${window} is shorter than 3d, the longest alert window`);
  const budget = errorBudget(slo.objective);
  const ratio = errorRatio(slo, at);
  const sel = `{slo="${slo.name}"}`;
  const rangeWindows = [...new Set([...ALERTS.flatMap((a) => [a.short, a.long]), window])].sort((a, b) => hours(a) - hours(b));

  const recording = rangeWindows.map((w) => ({
    record: `slo:sli_error:ratio_rate${w}`,
    expr: ratio(w),
    labels: { slo: slo.name },
  }));
  recording.push({
    record: 'slo:error_budget:remaining',
    expr: `1 - (slo:sli_error:ratio_rate${window}${sel} / ${number(budget)})`,
    labels: { slo: slo.name },
  });

  const labels = sortedObject(slo.labels ?? {});
  const alerts = ['critical', 'warning'].map((severity) => {
    const conditions = ALERTS.filter((a) => a.severity === severity).map((a) => {
      const threshold = `(${number((a.budgetShare * windowHours) / hours(a.long))} * ${number(budget)})`;
      return `(slo:sli_error:ratio_rate${a.long}${sel} > ${threshold} and slo:sli_error:ratio_rate${a.short}${sel} > ${threshold})`;
    });
    const what = slo.description ? `${slo.description}: ` : '';
    return {
      alert: `${pascal(slo.name)}ErrorBudgetBurn`,
      expr: conditions.join('\nor\n'),
      for: ALERTS.find((a) => a.severity === severity).for,
      labels: sortedObject({ ...labels, severity, slo: slo.name }),
      annotations: {
        summary: `SLO ${slo.name} is burning its error budget too fast`,
        description: `${what}${slo.objective}% over ${window}; at this rate the error budget ${severity === 'critical' ? 'is gone within days' : 'runs out before the window ends'}.`,
      },
    };
  });

  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: `slo-${slo.name}`, namespace, labels: { 'opsmith.dev/slo': slo.name } },
    spec: {
      groups: [
        { name: `slo-${slo.name}-sli`, interval: '30s', rules: recording },
        { name: `slo-${slo.name}-alerts`, rules: alerts },
      ],
    },
  };
}

function errorRatio(slo, at) {
  if (slo.expr !== undefined) {
    if (!slo.expr.includes('$window')) throw new RenderError(`${at}/expr`, 'expr must use `$window` where the range goes, e.g. rate(x[$window])');
    return (w) => slo.expr.replaceAll('$window', w);
  }
  if (slo.metric !== undefined) {
    const { errors, total } = slo.metric;
    return (w) => `sum(rate(${errors}[${w}])) / sum(rate(${total}[${w}]))`;
  }
  throw new RenderError(at, 'give either expr or metric');
}

function errorBudget(objective) {
  return Number(((100 - objective) / 100).toPrecision(12));
}

function hours(window, pointer) {
  const match = /^([1-9][0-9]*)([mhdw])$/.exec(window);
  if (!match) throw new RenderError(pointer ?? '', `\`${window}\` is not a window such as 30d`);
  const unit = { m: 1 / 60, h: 1, d: 24, w: 168 }[match[2]];
  return Number(match[1]) * unit;
}

/** A number as PromQL gets it: no binary-float noise (0.001, not 0.0010000000000000009). */
function number(x) {
  return String(Number(x.toPrecision(12)));
}

function pascal(name) {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function sortedObject(object) {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
