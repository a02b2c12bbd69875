// A JavaScript plugin that misbehaves in the way its config's `attack` names.
//
// opsmith's tests use it to check that the sandbox holds for componentize-js
// components. Each attack either fails (the plugin returns an error naming
// what was refused, or the host stops it) or returns what it saw in a
// ConfigMap, so a test can check that the value is a fixed one and not the
// host's.
//
//   attack: passwd       read /etc/passwd (fetch of a file: URL; there is no fs API)
//   attack: env          read the environment variable HOME (process.env)
//   attack: socket       connect to 127.0.0.1:9 (fetch; there is no socket API)
//   attack: loop         spin forever
//   attack: memory       allocate until something gives
//   attack: determinism  Math.random(), Date.now(), performance.now(), crypto
//   attack: throw        throw an Error with no `payload`

const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    attack: {
      type: 'string',
      description: 'What to try.',
      enum: ['passwd', 'env', 'socket', 'loop', 'memory', 'determinism', 'throw'],
    },
  },
};

// A failed render: componentize-js turns a thrown value with a `payload`
// into the `err` case of `result<render-output, render-error>`.
function refuse(what, err) {
  const e = new Error(what);
  e.payload = {
    message: `${what} refused: ${err && err.name ? err.name : typeof err}: ${err && err.message ? err.message : String(err)}`,
    pointer: '/config/attack',
  };
  return e;
}

// What an attack saw, as ConfigMap `<component>-<attack>`.
function configMap(name, data) {
  const sorted = {};
  for (const key of Object.keys(data).sort()) sorted[key] = String(data[key]);
  const object = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default' },
    data: sorted,
  };
  return { objects: JSON.stringify([object]), files: [], diagnostics: [] };
}

async function passwd() {
  if (typeof fetch !== 'function') {
    throw refuse('reading /etc/passwd', new TypeError('no fetch and no file-system API in this engine'));
  }
  try {
    const response = await fetch('file:///etc/passwd');
    return { passwd: await response.text() };
  } catch (err) {
    throw refuse('reading /etc/passwd', err);
  }
}

function env() {
  const proc = globalThis.process;
  return {
    process: typeof proc,
    fetch: typeof fetch,
    HOME: proc && proc.env ? String(proc.env.HOME) : 'unavailable',
  };
}

async function socket() {
  if (typeof fetch !== 'function') {
    throw refuse('connecting to 127.0.0.1:9', new TypeError('no fetch and no socket API in this engine'));
  }
  try {
    const response = await fetch('http://127.0.0.1:9/');
    return { status: response.status };
  } catch (err) {
    throw refuse('connecting to 127.0.0.1:9', err);
  }
}

function loop() {
  let n = 0;
  for (;;) n = (n * 3 + 1) % 1000003;
}

function memory() {
  const hoard = [];
  for (;;) hoard.push(new Uint8Array(16 << 20).fill(1));
}

function determinism() {
  const words = new Set(['hotel', 'alpha', 'golf', 'bravo', 'foxtrot', 'charlie', 'echo', 'delta']);
  const bytes = new Uint8Array(8);
  let cryptoBytes = 'unavailable';
  if (globalThis.crypto && typeof crypto.getRandomValues === 'function') {
    crypto.getRandomValues(bytes);
    cryptoBytes = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return {
    random: [Math.random(), Math.random(), Math.random()].join(','),
    now: Date.now(),
    date: new Date().toISOString(),
    performanceNow: typeof performance === 'object' ? performance.now() : 'unavailable',
    crypto: cryptoBytes,
    setOrder: [...words].join(','),
  };
}

const ATTACKS = { passwd, env, socket, loop, memory, determinism };

export function describe() {
  return {
    name: 'hostile-javascript',
    version: '0.1.0',
    description: 'misbehaves on request (tests only)',
    configSchema: JSON.stringify(SCHEMA),
    emits: [{ apiVersion: 'v1', kind: 'ConfigMap', namespaces: ['*'] }],
  };
}

export async function render(input) {
  const { attack = '' } = JSON.parse(input.config);
  if (attack === 'throw') throw new Error('hostile plugin gave up on purpose');
  const action = ATTACKS[attack];
  if (!action) throw { message: `unknown attack ${JSON.stringify(attack)}`, pointer: '/config/attack' };
  return configMap(`${input.component}-${attack}`, await action());
}
