#!/usr/bin/env node
// Checks a folder of Backstage catalog entity files (what builtin:backstage
// renders into day0/<component>/) the way Backstage's catalog would take
// them in, and then what Backstage itself does not check before ingesting:
// that every reference resolves among them.
//
//   NODE_PATH=<dir>/node_modules node .ci/backstage-check.mjs [--external REF]... DIR
//
// with @backstage/catalog-model and yaml installed in <dir> (see .ci/run).
// For each entity, Backstage's own code from @backstage/catalog-model:
// - the entity policies the catalog backend applies by default
//   (backstage/backstage plugins/catalog-backend/src/service/CatalogBuilder.ts,
//   buildEntityPolicy: SchemaValidEntityPolicy,
//   DefaultNamespaceEntityPolicy, NoForeignRootFieldsEntityPolicy,
//   FieldFormatEntityPolicy): envelope schema, names, labels, annotations,
//   tags, links;
// - the kind validators of its BuiltinKindsEntityProcessor
//   (plugins/catalog-backend/src/processors/BuiltinKindsEntityProcessor.ts,
//   *EntityV1alpha1Validator): each kind's JSON schema; an entity of no
//   built-in kind is a problem.
// Then, across the folder:
// - no entity is defined twice (Backstage refuses the second);
// - every reference that BuiltinKindsEntityProcessor turns into a relation
//   (owner, system, domain, dependsOn, dependencyOf, providesApis,
//   consumesApis, subcomponentOf, parent, children, members, memberOf),
//   parsed with parseEntityRef and the same default kinds, names an entity
//   of the folder, or one given with --external (such as a group that an
//   organisation provider brings in);
// - every Location target is a relative path to a file of the folder, and
//   every file is reached from the file to register: catalog-info.yaml, or
//   else the one file no Location lists;
// - an openapi API's definition parses and names its OpenAPI version, info
//   and paths.
// Each problem is printed as `FILE: FIELD: what is wrong`; the exit status
// is 1 when there is any, 2 on a usage error, 0 otherwise.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

// CommonJS resolution honours NODE_PATH; ES module imports do not.
const require = createRequire(import.meta.url);

function usage(message) {
  console.error(`backstage-check: ${message}`);
  console.error('usage: node .ci/backstage-check.mjs [--external REF]... DIR');
  process.exit(2);
}

let model;
let YAML;
try {
  model = require('@backstage/catalog-model');
  YAML = require('yaml');
} catch (e) {
  usage(`needs @backstage/catalog-model and yaml (set NODE_PATH to their node_modules): ${e.message.split('\n')[0]}`);
}
const modelVersion = require('@backstage/catalog-model/package.json').version;

const external = new Set();
let dir;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--external') {
    const ref = args[++i];
    if (!ref) usage('--external needs an entity reference, such as group:default/sre');
    external.add(model.stringifyEntityRef(model.parseEntityRef(ref)));
  } else if (dir === undefined && !args[i].startsWith('-')) {
    dir = args[i];
  } else {
    usage(`unexpected argument ${args[i]}`);
  }
}
if (dir === undefined) usage('no folder given');
if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) usage(`${dir} is not a folder`);

// The default policies of the catalog backend (CatalogBuilder.buildEntityPolicy).
const policy = model.EntityPolicies.allOf([
  new model.SchemaValidEntityPolicy(),
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
]);
// The kinds BuiltinKindsEntityProcessor validates.
const kindValidators = [
  model.apiEntityV1alpha1Validator,
  model.componentEntityV1alpha1Validator,
  model.domainEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator,
  model.locationEntityV1alpha1Validator,
  model.resourceEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator,
  model.userEntityV1alpha1Validator,
];
// The fields BuiltinKindsEntityProcessor.postProcessEntity turns into
// relations, with the kind it assumes when a reference names none
// (none: the reference must name its kind).
const references = {
  Component: [['owner', 'Group'], ['subcomponentOf', 'Component'], ['providesApis', 'API'],
    ['consumesApis', 'API'], ['dependsOn'], ['dependencyOf'], ['system', 'System']],
  API: [['owner', 'Group'], ['system', 'System']],
  Resource: [['owner', 'Group'], ['dependsOn'], ['dependencyOf'], ['system', 'System']],
  System: [['owner', 'Group'], ['domain', 'Domain']],
  Domain: [['owner', 'Group'], ['subdomainOf', 'Domain']],
  Group: [['parent', 'Group'], ['children', 'Group'], ['members', 'User']],
  User: [['memberOf', 'Group']],
};

const problems = [];
const problem = (file, field, message) => problems.push(`${file}: ${field}: ${message}`);

// Every YAML file under dir, as a path relative to it with `/`.
function yamlFiles(root, prefix = '') {
  return fs.readdirSync(path.join(root, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) return yamlFiles(root, rel);
      return /\.ya?ml$/.test(entry.name) ? [rel] : [];
    })
    .sort();
}

const files = yamlFiles(dir);
const entities = []; // { file, entity, ref }
for (const file of files) {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const documents = YAML.parseAllDocuments(text);
  for (const [index, document] of documents.entries()) {
    const where = documents.length > 1 ? `document ${index + 1}` : 'document';
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const at = error.linePos?.[0];
        problem(at ? `${file}:${at.line}:${at.col}` : file, where, error.message.split('\n')[0]);
      }
      continue;
    }
    const data = document.toJSON();
    if (data === null || data === undefined) continue;
    let entity;
    try {
      entity = await policy.enforce(data);
    } catch (e) {
      problem(file, `${data?.kind ?? '?'} ${data?.metadata?.name ?? '?'}`, e.message);
      continue;
    }
    let known = false;
    try {
      for (const validator of kindValidators) {
        if (await validator.check(entity)) {
          known = true;
          break;
        }
      }
      if (!known) problem(file, 'kind', `${entity.apiVersion} ${entity.kind} is not a kind Backstage knows`);
    } catch (e) {
      problem(file, `${entity.kind} ${entity.metadata.name}`, e.message);
      continue;
    }
    if (known) entities.push({ file, entity, ref: model.stringifyEntityRef(entity) });
  }
}
if (entities.length === 0 && problems.length === 0) problem(dir, 'files', 'no entities found');

// Backstage compares references without case; stringifyEntityRef lowercases.
const byRef = new Map();
for (const e of entities) {
  const first = byRef.get(e.ref);
  if (first) problem(e.file, 'metadata.name', `${e.ref} is also defined in ${first.file}`);
  else byRef.set(e.ref, e);
}

for (const { file, entity } of entities) {
  for (const [field, defaultKind] of references[entity.kind] ?? []) {
    const value = entity.spec?.[field];
    if (value === undefined) continue;
    const targets = Array.isArray(value) ? value : [value];
    targets.forEach((target, i) => {
      const at = `spec.${field}${Array.isArray(value) ? `[${i}]` : ''}`;
      let ref;
      try {
        ref = model.stringifyEntityRef(model.parseEntityRef(target, {
          defaultKind,
          defaultNamespace: entity.metadata.namespace,
        }));
      } catch (e) {
        problem(file, at, e.message);
        return;
      }
      if (!byRef.has(ref) && !external.has(ref)) {
        problem(file, at, `${ref} is not an entity of this folder${external.size ? ' nor given with --external' : ''}`);
      }
    });
  }
  if (entity.kind === 'API' && entity.spec.type === 'openapi') {
    let definition;
    try {
      definition = YAML.parse(entity.spec.definition);
    } catch (e) {
      problem(file, 'spec.definition', `is not YAML or JSON: ${e.message.split('\n')[0]}`);
    }
    if (definition !== undefined) {
      const version = definition?.openapi ?? definition?.swagger;
      if (typeof version !== 'string') problem(file, 'spec.definition', 'names no openapi version');
      if (typeof definition?.info?.title !== 'string' || typeof definition?.info?.version !== 'string') {
        problem(file, 'spec.definition', 'has no info.title and info.version');
      }
      if (!definition?.paths && !definition?.webhooks && !definition?.components) {
        problem(file, 'spec.definition', 'has no paths, webhooks or components');
      }
    }
  }
}

// Locations: targets are files of this folder, and every file is reached
// from the one no Location lists.
const listed = new Map(files.map((f) => [f, []])); // file -> files it lists
const listedBy = new Set();
for (const { file, entity } of entities.filter((e) => e.entity.kind === 'Location')) {
  const spec = entity.spec;
  const targets = [
    ...(spec.target !== undefined ? [['spec.target', spec.target]] : []),
    ...(spec.targets ?? []).map((t, i) => [`spec.targets[${i}]`, t]),
  ];
  for (const [at, target] of targets) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || path.posix.isAbsolute(target)) {
      problem(file, at, `${target} is not a path relative to this file, so it cannot be checked here`);
      continue;
    }
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
    if (!listed.has(resolved)) {
      problem(file, at, `${target} is not a YAML file of this folder`);
      continue;
    }
    listed.get(file).push(resolved);
    listedBy.add(resolved);
  }
}
// The file to register: catalog-info.yaml (Backstage's conventional name)
// when no Location lists it, else the only file no Location lists.
const unlisted = files.filter((f) => !listedBy.has(f));
const root = unlisted.includes('catalog-info.yaml') ? 'catalog-info.yaml'
  : unlisted.length === 1 ? unlisted[0] : undefined;
if (root === undefined && files.length > 0) {
  problem(dir, 'files', unlisted.length === 0
    ? 'every file is listed by a Location: none to register'
    : `${unlisted.length} files are listed by no Location (${unlisted.join(', ')}), and none is catalog-info.yaml: which one to register?`);
}
const reached = new Set();
const queue = root === undefined ? [] : [root];
while (queue.length > 0) {
  const file = queue.shift();
  if (reached.has(file)) continue;
  reached.add(file);
  queue.push(...listed.get(file));
}
if (root !== undefined) {
  for (const file of files.filter((f) => !reached.has(f))) {
    problem(file, 'file', `no Location reached from ${root} lists this file`);
  }
}

if (problems.length > 0) {
  console.log(problems.join('\n'));
  console.error(`backstage-check: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir}`);
  process.exit(1);
}
console.log(`backstage-check: ${entities.length} entities in ${files.length} files of ${dir} are valid ` +
  `(@backstage/catalog-model ${modelVersion}), and every reference resolves among them; register ${root}`);
