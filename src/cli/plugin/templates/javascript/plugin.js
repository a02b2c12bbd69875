// `{{name}}`: an opsmith plugin in JavaScript.
//
// It renders one ConfigMap that summarises the site; change `render` to make
// it yours. componentize-js turns this ES module into a WebAssembly component
// for the WIT world `renderer` in wit/plugin.wit (see README.md).

// The world's import `log`: a line in opsmith's log, shown with --verbose.
import log from 'log';

const CONFIG_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    namespace: { type: 'string', description: 'Namespace of the ConfigMap.', default: 'default' },
  },
};

/** A failed render: componentize-js sends `payload` as the WIT `render-error`. */
export class RenderError extends Error {
  constructor(pointer, message) {
    super(message);
    this.payload = { message, pointer };
  }
}

export function describe() {
  return {
    name: '{{name}}',
    version: '0.1.0',
    description: 'A ConfigMap summarising the site',
    configSchema: JSON.stringify(CONFIG_SCHEMA),
    // opsmith refuses any object of a kind not declared here.
    emits: [{ apiVersion: 'v1', kind: 'ConfigMap', namespaces: ['*'] }],
  };
}

export function render(input) {
  const site = JSON.parse(input.site);
  const config = JSON.parse(input.config);
  for (const key of Object.keys(config).sort()) {
    if (!(key in CONFIG_SCHEMA.properties)) {
      // A pointer into the input: opsmith shows catalog.yaml:LINE.
      throw new RenderError(`/config/${key}`, `unknown option \`${key}\``);
    }
  }
  const hosts = site.spec.hosts;
  const summary = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${input.component}-summary`, namespace: config.namespace ?? 'default' },
    data: {
      cluster: `${site.metadata.name}.${site.spec.baseDomain}`,
      hosts: String(hosts.length),
      controlPlane: String(hosts.filter((h) => h.role === 'control-plane').length),
    },
  };
  log('info', `summarised ${hosts.length} hosts`);
  // Same input, same bytes: build objects in a fixed order, use no clock or randomness.
  return { objects: JSON.stringify([summary]), files: [], diagnostics: [] };
}
