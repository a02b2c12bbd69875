//! Upstream schemas: the check in the collect stage (after the plugins run, before layout).
//!
//! Every object a plugin renders is checked here against the schema its upstream project
//! publishes: metal3's BareMetalHost CRD, the installer's InstallConfig CRD, Argo CD's,
//! Tekton's, Prow's, external-secrets' and OpenShift's CRDs, and Kubernetes' own OpenAPI v3
//! documents for the core kinds. An object the cluster would reject (or silently prune)
//! fails `opsmith render` in CI instead of failing an Argo CD sync later.
//!
//! The schemas are the upstream files, copied verbatim under `schemas/upstream/` (see
//! `SOURCES.md` there). They are written in the OpenAPI v3 dialect Kubernetes uses, so at
//! build time (the opsmith-schemas crate, `schemas/convert.rs`) each kind's schema is
//! rewritten into a self-contained JSON Schema 2020-12 document, which is compiled into a
//! Rust validator there:
//!
//! - `x-kubernetes-*` extensions, `format`, `nullable`, `description` and `example` are
//!   dropped (Kubernetes formats such as `int32` or `ip` are not JSON Schema formats, and
//!   annotations don't validate). Only schema keywords are rewritten, never the names inside
//!   `properties`, so a field called `format` (BareMetalHost `spec.image.format`) stays.
//! - A CRD's `default`s are kept and filled in before validating, as the apiserver does (an
//!   object that is valid as written is not copied). In Kubernetes' own documents `default`
//!   only records Go zero values, so there it is dropped.
//! - `nullable: true` adds `null` to `type` (and to `enum`).
//! - `x-kubernetes-int-or-string` and Kubernetes' `format: int-or-string` become
//!   `type: [integer, string]`; an `anyOf`/`oneOf` that only lists types becomes a type list.
//! - Wherever an object lists `properties` without `additionalProperties` and without
//!   `x-kubernetes-preserve-unknown-fields`, `additionalProperties: false` is added: the
//!   apiserver prunes or rejects unknown fields, so a misspelt field is an error here.
//!   Not inside `allOf`/`anyOf`/`oneOf`/`not`: there `properties` only constrain fields that
//!   the enclosing schema already declares.
//! - `allOf: [{$ref}]` becomes a plain `$ref`, and `#/components/schemas/X` refs point into
//!   `$defs`, where only the definitions a kind reaches are copied.
//! - A CRD's bare `metadata: {type: object}` is replaced by Kubernetes' `ObjectMeta`, which the
//!   apiserver applies to every object (so `annotations: {sync-wave: 1}` is caught).
//!
//! CEL rules (`x-kubernetes-validations`) are not evaluated; admission webhooks are not run.
//!
//! A [`Violation`] is a JSON pointer into the object and a short message, worded as the input
//! checks word theirs ([`crate::schema_errors`]): ``unknown field `adress`, did you mean
//! `address`?`` (pointing at the object that holds the field), `` missing required field
//! `online` ``, ``expected a boolean, found `yes` ``.
//!
//! Validators are compiled at build time, so checking a valid object parses nothing. The
//! embedded schema is parsed only when an object fails as written (for the defaults and to
//! name the known fields), once per kind for the life of the value, which is `Send + Sync`
//! and meant to be shared by all rendering threads.

use std::fmt;
use std::sync::OnceLock;

use jsonschema::ValidationError;
use opsmith_schemas::KINDS;
use serde_json::Value;

use crate::schema_errors::Explainer;

// Run by the opsmith-schemas build; here only the tests use it, to check the build's output
// against the sources.
#[cfg(test)]
#[path = "../../schemas/convert.rs"]
mod convert;

/// One way an object breaks its upstream schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) to the offending value inside the object; `""` is the object
    /// itself. For an unknown or missing field it points at the object that holds it.
    pub pointer: String,
    /// What is wrong, in a few words, e.g. ``unknown field `adress`, did you mean `address`?``.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// The upstream schemas. Create one per process and share it.
pub struct UpstreamSchemas {
    /// Each kind's schema, by index into [`KINDS`], parsed the first time an object of that
    /// kind fails: for its defaults, and to name the known fields when an unknown one turns up.
    parsed: Vec<OnceLock<Result<Value, String>>>,
}

const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<UpstreamSchemas>();
};

impl Default for UpstreamSchemas {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for UpstreamSchemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parsed: Vec<_> = (0..KINDS.len())
            .filter(|&i| self.parsed[i].get().is_some())
            .map(|i| KINDS[i].kind)
            .collect();
        f.debug_struct("UpstreamSchemas")
            .field("parsed", &parsed)
            .finish_non_exhaustive()
    }
}

impl UpstreamSchemas {
    /// Cheap: nothing is parsed until [`validate`](Self::validate) needs it.
    #[must_use]
    pub fn new() -> Self {
        Self {
            parsed: (0..KINDS.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The process's instance: what one render parsed, the next render in
    /// the same process (a benchmark, a long-running caller) reuses.
    pub fn shared() -> &'static UpstreamSchemas {
        static SHARED: OnceLock<UpstreamSchemas> = OnceLock::new();
        SHARED.get_or_init(UpstreamSchemas::new)
    }

    /// Checks `object` against the upstream schema of (`api_version`, `kind`).
    ///
    /// `None`: opsmith ships no schema for this kind. `Some(vec![])`: valid. Otherwise the
    /// violations, ordered by pointer.
    #[must_use]
    pub fn validate(
        &self,
        api_version: &str,
        kind: &str,
        object: &Value,
    ) -> Option<Vec<Violation>> {
        let index = lookup(api_version, kind)?;
        let entry = &KINDS[index];
        if (entry.is_valid)(object) {
            return Some(Vec::new());
        }
        let schema = match self.schema(index) {
            Ok(schema) => schema,
            Err(error) => {
                return Some(vec![Violation {
                    pointer: String::new(),
                    message: format!(
                        "opsmith bug: the schema shipped for {api_version} {kind} is not JSON: {error}"
                    ),
                }]);
            }
        };
        // The apiserver fills in a CRD's defaults before validating. A default only adds a
        // declared field with a value its own schema accepts, so it can turn an invalid
        // object valid (Route: an `anyOf` wants `wildcardPolicy`, which defaults to `None`)
        // but not the reverse; the test `defaults_only_meet_known_constraints` keeps it so.
        // So the copy is made only for objects that fail as written.
        let defaulted;
        let object = if entry.defaults {
            let mut copy = object.clone();
            apply_defaults(&mut copy, schema, schema);
            if (entry.is_valid)(&copy) {
                return Some(Vec::new());
            }
            defaulted = copy;
            &defaulted
        } else {
            object
        };
        let mut violations = Vec::new();
        for error in entry.iter_errors(object) {
            describe(&error, schema, &mut violations);
        }
        violations.sort_by(|a, b| {
            compare_pointers(&a.pointer, &b.pointer).then_with(|| a.message.cmp(&b.message))
        });
        violations.dedup();
        Some(violations)
    }

    /// Whether a schema is shipped for (`api_version`, `kind`). Parses nothing.
    #[must_use]
    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        lookup(api_version, kind).is_some()
    }

    /// Every (apiVersion, kind) with a schema, sorted.
    #[must_use]
    pub fn kinds(&self) -> Vec<(String, String)> {
        let mut kinds: Vec<_> = KINDS
            .iter()
            .map(|entry| (entry.api_version.to_owned(), entry.kind.to_owned()))
            .collect();
        kinds.sort();
        kinds
    }

    /// The shipped file (path under `schemas/upstream/`) that (`api_version`, `kind`) is
    /// checked against, for documentation.
    #[must_use]
    pub fn source_of(&self, api_version: &str, kind: &str) -> Option<&'static str> {
        lookup(api_version, kind).map(|index| KINDS[index].source)
    }

    fn schema(&self, index: usize) -> &Result<Value, String> {
        self.parsed[index]
            .get_or_init(|| serde_json::from_str(KINDS[index].schema).map_err(|e| e.to_string()))
    }
}

fn lookup(api_version: &str, kind: &str) -> Option<usize> {
    KINDS
        .iter()
        .position(|entry| entry.api_version == api_version && entry.kind == kind)
}

// ---------------------------------------------------------------------------------------------
// Defaulting, as the apiserver does it for custom resources before validation: a property
// that is absent gets its schema's `default`, then the same for every field, item and map
// value present. (Route's schema relies on this: `spec.wildcardPolicy` defaults to `None`,
// and an `anyOf` rule needs it set.)

/// The schema a node stands for, following a local `$ref`.
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => root.pointer(pointer).unwrap_or(schema),
        None => schema,
    }
}

fn apply_defaults(value: &mut Value, schema: &Value, root: &Value) {
    let schema = resolve(schema, root);
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            if let Some(properties) = properties {
                for (name, property) in properties {
                    if let Some(default) = property.get("default")
                        && !fields.contains_key(name)
                    {
                        fields.insert(name.clone(), default.clone());
                    }
                }
            }
            let others = schema.get("additionalProperties").filter(|s| s.is_object());
            for (name, field) in fields.iter_mut() {
                if let Some(child) = properties.and_then(|p| p.get(name)).or(others) {
                    apply_defaults(field, child, root);
                }
            }
        }
        Value::Array(items) => {
            if let Some(child) = schema.get("items").filter(|s| s.is_object()) {
                for item in items {
                    apply_defaults(item, child, root);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Messages, worded by the one schema explainer the input checks use too. An unknown or missing
// field is reported at the object that holds it.

fn describe(error: &ValidationError<'_>, schema: &Value, out: &mut Vec<Violation>) {
    let mut explained = Vec::new();
    Explainer::new(schema).explain(error, "", &mut explained);
    out.extend(explained.into_iter().map(|e| Violation {
        pointer: e.pointer,
        message: e.message,
    }));
}

/// Orders JSON pointers by segment, array indexes numerically (`/a/2` before `/a/10`).
fn compare_pointers(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |segment: &str| match segment.parse::<u64>() {
        Ok(index) => (0, index, String::new()),
        Err(_) => (1, 0, segment.to_owned()),
    };
    a.split('/').map(key).cmp(b.split('/').map(key))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// One instance for the tests that don't measure compilation, shared like in production.
    fn schemas() -> &'static UpstreamSchemas {
        static SHARED: OnceLock<UpstreamSchemas> = OnceLock::new();
        SHARED.get_or_init(UpstreamSchemas::new)
    }

    fn yaml(text: &str) -> Value {
        serde_saphyr::from_str(text).expect("test YAML parses")
    }

    /// Validates `object` under its own apiVersion and kind.
    fn check(object: &Value) -> Vec<Violation> {
        let api_version = object["apiVersion"].as_str().expect("apiVersion");
        let kind = object["kind"].as_str().expect("kind");
        schemas()
            .validate(api_version, kind, object)
            .expect("a shipped kind")
    }

    fn assert_valid(object: &Value) {
        let violations = check(object);
        let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(
            violations.is_empty(),
            "expected valid, got:\n{}",
            listed.join("\n")
        );
    }

    fn assert_violation(violations: &[Violation], pointer: &str, message: &str) {
        let found = violations
            .iter()
            .any(|v| v.pointer == pointer && v.message == message);
        let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(
            found,
            "expected `{pointer}: {message}` among:\n{}",
            listed.join("\n")
        );
    }

    /// Like upstream's examples/example-host.yaml, filled in the way the metal3 plugin renders
    /// an R620 (including `image.format`, a property named like an OpenAPI keyword, and a
    /// `nullable` list set to null).
    const BARE_METAL_HOST: &str = r#"
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata:
  name: oct-03-04-compute
  namespace: openshift-machine-api
  labels:
    app.kubernetes.io/managed-by: opsmith
  annotations:
    argocd.argoproj.io/sync-wave: "1"
spec:
  online: true
  bootMACAddress: "24:6e:96:0a:0b:0c"
  bootMode: UEFI
  bmc:
    address: idrac-virtualmedia://10.10.0.104/redfish/v1/Systems/System.Embedded.1
    credentialsName: oct-03-04-compute-bmc
    disableCertificateVerification: true
  rootDeviceHints:
    deviceName: /dev/sda
    minSizeGigabytes: 200
  image:
    url: http://images.example.org/rhcos.qcow2
    checksum: http://images.example.org/rhcos.qcow2.sha256sum
    checksumType: sha256
    format: qcow2
  raid:
    hardwareRAIDVolumes: null
"#;

    #[test]
    fn bare_metal_host_valid() {
        assert_valid(&yaml(BARE_METAL_HOST));
        // Upstream's minimal example.
        assert_valid(&yaml(
            "apiVersion: metal3.io/v1alpha1\nkind: BareMetalHost\nmetadata: {name: example-baremetalhost}\n\
             spec:\n  online: true\n  bmc: {address: 'ipmi://192.168.122.1:6233', credentialsName: example-baremetalhost-secret}\n",
        ));
    }

    #[test]
    fn bare_metal_host_unknown_field() {
        let mut host = yaml(BARE_METAL_HOST);
        let bmc = host["spec"]["bmc"].as_object_mut().unwrap();
        let address = bmc.remove("address").unwrap();
        bmc.insert("adress".into(), address);
        let violations = check(&host);
        assert_violation(
            &violations,
            "/spec/bmc",
            "unknown field `adress`, did you mean `address`?",
        );
        assert_violation(&violations, "/spec/bmc", "missing required field `address`");
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert_eq!(
            violations[1].to_string(),
            "/spec/bmc: unknown field `adress`, did you mean `address`?"
        );
    }

    #[test]
    fn bare_metal_host_wrong_types() {
        let mut host = yaml(BARE_METAL_HOST);
        host["spec"]["online"] = Value::String("yes".into());
        host["spec"]["bootMode"] = Value::String("uefi".into());
        host["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = Value::from(1);
        let violations = check(&host);
        assert_violation(
            &violations,
            "/spec/online",
            "expected a boolean, found the string `yes`",
        );
        assert_violation(
            &violations,
            "/spec/bootMode",
            "`uefi` is not allowed, did you mean `UEFI`?",
        );
        // CRD metadata is checked as ObjectMeta; `/` in the key is escaped in the pointer.
        assert_violation(
            &violations,
            "/metadata/annotations/argocd.argoproj.io~1sync-wave",
            "expected a string, found the number `1`",
        );
        assert_eq!(violations.len(), 3, "{violations:?}");
    }

    #[test]
    fn bare_metal_host_missing_online() {
        let mut host = yaml(BARE_METAL_HOST);
        host["spec"].as_object_mut().unwrap().remove("online");
        assert_eq!(
            check(&host),
            vec![Violation {
                pointer: "/spec".into(),
                message: "missing required field `online`".into()
            }]
        );
    }

    const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hook
  namespace: prow
  labels: {app: hook}
spec:
  replicas: 2
  selector:
    matchLabels: {app: hook}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: "25%"}
  template:
    metadata:
      labels: {app: hook}
    spec:
      serviceAccountName: hook
      terminationGracePeriodSeconds: 180
      containers:
        - name: hook
          image: us-docker.pkg.dev/k8s-infra-prow/images/hook:v20240805-c9d3e5c49
          imagePullPolicy: Always
          args: [--dry-run=false, --config-path=/etc/config/config.yaml]
          ports:
            - {name: http, containerPort: 8888}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 1, memory: 1Gi}
          livenessProbe:
            httpGet: {path: /healthz, port: 8081}
            initialDelaySeconds: 3
          readinessProbe:
            httpGet: {path: /healthz/ready, port: http}
          volumeMounts:
            - {name: config, mountPath: /etc/config, readOnly: true}
      volumes:
        - name: config
          configMap: {name: config}
"#;

    #[test]
    fn deployment_valid() {
        // Covers int-or-string (maxSurge, maxUnavailable, probe ports) and Quantity (`cpu: 1`).
        assert_valid(&yaml(DEPLOYMENT));
    }

    #[test]
    fn deployment_invalid() {
        let mut deployment = yaml(DEPLOYMENT);
        deployment["spec"]["replicas"] = Value::String("2".into());
        deployment["spec"]
            .as_object_mut()
            .unwrap()
            .remove("selector");
        let container = &mut deployment["spec"]["template"]["spec"]["containers"][0];
        container["ports"][0]["containerPort"] = Value::String("8888".into());
        let container = container.as_object_mut().unwrap();
        let mounts = container.remove("volumeMounts").unwrap();
        container.insert("volumeMount".into(), mounts);
        container.remove("name");

        let violations = check(&deployment);
        assert_violation(&violations, "/spec", "missing required field `selector`");
        assert_violation(
            &violations,
            "/spec/replicas",
            "expected an integer, found the string `2`",
        );
        let container = "/spec/template/spec/containers/0";
        assert_violation(&violations, container, "missing required field `name`");
        assert_violation(
            &violations,
            container,
            "unknown field `volumeMount`, did you mean `volumeMounts`?",
        );
        assert_violation(
            &violations,
            &format!("{container}/ports/0/containerPort"),
            "expected an integer, found the string `8888`",
        );
        assert_eq!(violations.len(), 5, "{violations:?}");
        // Ordered by pointer.
        assert_eq!(violations[0].pointer, "/spec");
    }

    /// openshift/installer docs/user/metal/install_ipi.md's example, with the fields the CRD
    /// requires and the installer does not (`hardwareProfile`,
    /// `bmc.disableCertificateVerification`, `compute[].platform`).
    const INSTALL_CONFIG: &str = r#"
apiVersion: v1
baseDomain: test.metalkube.org
metadata:
  name: ostest
networking:
  machineNetwork:
  - cidr: 192.168.111.0/24
compute:
- name: worker
  replicas: 1
  platform:
    baremetal: {}
controlPlane:
  name: master
  replicas: 3
  platform:
    baremetal: {}
platform:
  baremetal:
    apiVIP: 192.168.111.5
    ingressVIP: 192.168.111.4
    hosts:
      - name: openshift-master-0
        role: master
        bmc:
          address: ipmi://192.168.111.1:6230
          username: admin
          password: password
          disableCertificateVerification: false
        bootMACAddress: 00:11:07:4e:f6:68
        rootDeviceHints:
          minSizeGigabytes: 20
        bootMode: legacy
        hardwareProfile: ""
      - name: openshift-master-1
        role: master
        bmc:
          address: ipmi://192.168.111.1:6231
          username: admin
          password: password
          disableCertificateVerification: false
        bootMACAddress: 00:11:07:4e:f6:6c
        rootDeviceHints:
          minSizeGigabytes: 20
        bootMode: UEFI
        hardwareProfile: ""
      - name: openshift-master-2
        role: master
        bmc:
          address: ipmi://192.168.111.1:6232
          username: admin
          password: password
          disableCertificateVerification: false
        bootMACAddress: 00:11:07:4e:f6:70
        rootDeviceHints:
          minSizeGigabytes: 20
        hardwareProfile: ""
      - name: openshift-worker-0
        role: worker
        bmc:
          address: ipmi://192.168.111.1:6233
          username: admin
          password: password
          disableCertificateVerification: false
        bootMACAddress: 00:11:07:4e:f6:71
        rootDeviceHints:
          minSizeGigabytes: 20
        hardwareProfile: ""
pullSecret: ...
sshKey: ...
"#;

    fn validate_install_config(config: &Value) -> Vec<Violation> {
        schemas()
            .validate("install.openshift.io/v1", "InstallConfig", config)
            .expect("shipped")
    }

    #[test]
    fn install_config_valid() {
        let config = yaml(INSTALL_CONFIG);
        let violations = validate_install_config(&config);
        assert!(violations.is_empty(), "{violations:?}");
    }

    #[test]
    fn install_config_invalid() {
        let mut config = yaml(INSTALL_CONFIG);
        let baremetal = config["platform"]["baremetal"].as_object_mut().unwrap();
        baremetal.remove("apiVIP");
        baremetal.insert("apiVips".into(), serde_json::json!(["192.168.111.5"]));
        let host = &mut config["platform"]["baremetal"]["hosts"][1];
        host["bootMode"] = Value::String("uefi".into());
        host.as_object_mut().unwrap().remove("hardwareProfile");
        config.as_object_mut().unwrap().remove("pullSecret");

        let violations = validate_install_config(&config);
        assert_violation(&violations, "", "missing required field `pullSecret`");
        assert_violation(
            &violations,
            "/platform/baremetal",
            "unknown field `apiVips`, did you mean `apiVIPs`?",
        );
        assert_violation(
            &violations,
            "/platform/baremetal/hosts/1",
            "missing required field `hardwareProfile`",
        );
        assert_violation(
            &violations,
            "/platform/baremetal/hosts/1/bootMode",
            "`uefi` is not allowed, did you mean `UEFI`?",
        );
        assert_eq!(violations.len(), 4, "{violations:?}");
        assert_eq!(
            violations[0].to_string(),
            "/: missing required field `pullSecret`"
        );
    }

    #[test]
    fn application_valid_and_invalid() {
        let mut application = yaml(
            r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: helm-guestbook
    helm:
      releaseName: guestbook
      valuesObject:
        replicaCount: 2
        image: {tag: v1}
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
    retry:
      limit: 5
      backoff: {duration: 5s, factor: 2, maxDuration: 3m}
"#,
        );
        assert_valid(&application);
        application["spec"]
            .as_object_mut()
            .unwrap()
            .remove("destination");
        application["spec"]["syncPolicy"]["automated"]["prune"] = Value::String("true".into());
        let violations = check(&application);
        assert_violation(&violations, "/spec", "missing required field `destination`");
        assert_violation(
            &violations,
            "/spec/syncPolicy/automated/prune",
            "expected a boolean, found the string `true`",
        );
        assert_eq!(violations.len(), 2, "{violations:?}");
    }

    #[test]
    fn route_valid_and_invalid() {
        let mut route = yaml(
            r#"
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: deck
  namespace: prow
spec:
  host: prow.apps.infra.example.org
  to: {kind: Service, name: deck}
  port: {targetPort: 8080}
  tls: {termination: edge, insecureEdgeTerminationPolicy: Redirect}
"#,
        );
        assert_valid(&route);
        // Without a host the schema's `anyOf` needs `wildcardPolicy`, which the apiserver
        // defaults to `None` before validating; so do we.
        route["spec"].as_object_mut().unwrap().remove("host");
        route["spec"]["port"]["targetPort"] = Value::String("http".into());
        assert_valid(&route);

        route["spec"]["wildcardPolicy"] = Value::String("Subdomain".into());
        route["spec"]["port"]["targetPort"] = Value::from(0);
        let violations = check(&route);
        assert_violation(
            &violations,
            "/spec",
            "a mapping matches none of the allowed forms: (1) expected `host` to be set and \
             not empty; (2) expected `wildcardPolicy` to be set and not `Subdomain`",
        );
        assert_violation(
            &violations,
            "/spec/port/targetPort",
            "expected anything but the number `0`",
        );
        assert_eq!(violations.len(), 2, "{violations:?}");
    }

    #[test]
    fn external_secret_valid_and_invalid() {
        let mut secret = yaml(
            r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: oct-03-04-compute-bmc
  namespace: openshift-machine-api
spec:
  refreshInterval: 1h0m0s
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target:
    name: oct-03-04-compute-bmc
    creationPolicy: Owner
  data:
    - secretKey: username
      remoteRef: {key: bmc/oct-03-04-compute, property: username}
    - secretKey: password
      remoteRef: {key: bmc/oct-03-04-compute, property: password}
"#,
        );
        assert_valid(&secret);
        secret["spec"]["secretStoreRef"]["kind"] = Value::String("Vault".into());
        let violations = check(&secret);
        assert_violation(
            &violations,
            "/spec/secretStoreRef/kind",
            "`Vault` is not allowed: expected one of `SecretStore`, `ClusterSecretStore`",
        );
        // v1beta1 is no longer served by the shipped CRD.
        assert!(
            schemas()
                .validate("external-secrets.io/v1beta1", "ExternalSecret", &secret)
                .is_none()
        );
    }

    #[test]
    fn tekton_pipeline_v1_valid_and_invalid() {
        let mut pipeline = yaml(
            r#"
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: opsmith-check
spec:
  params:
    - name: revision
      type: string
      default: main
      description: the revision to check
  workspaces:
    - name: source
  tasks:
    - name: clone
      taskRef:
        resolver: hub
        params:
          - {name: name, value: git-clone}
          - {name: version, value: "0.9"}
      params:
        - {name: revision, value: $(params.revision)}
      workspaces:
        - {name: output, workspace: source}
    - name: check
      runAfter: [clone]
      taskSpec:
        steps:
          - name: check
            image: ghcr.io/opsmith-dev/opsmith:latest
            script: opsmith check
      workspaces:
        - {name: source, workspace: source}
"#,
        );
        assert_valid(&pipeline);
        pipeline["spec"]["tasks"][1]["runAfter"] = Value::String("clone".into());
        pipeline["spec"]["params"][0]
            .as_object_mut()
            .unwrap()
            .remove("name");
        let violations = check(&pipeline);
        assert_violation(
            &violations,
            "/spec/params/0",
            "missing required field `name`",
        );
        assert_violation(
            &violations,
            "/spec/tasks/1/runAfter",
            "expected a list, found the string `clone`",
        );
        assert_eq!(violations.len(), 2, "{violations:?}");
    }

    #[test]
    fn unknown_kinds() {
        let schemas = schemas();
        let object = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget"});
        assert_eq!(schemas.validate("example.com/v1", "Widget", &object), None);
        assert_eq!(schemas.validate("v1", "BareMetalHost", &object), None);
        assert!(!schemas.knows("tekton.dev/v1", "PipelineRun"));
        assert!(schemas.knows("install.openshift.io/v1", "InstallConfig"));
        assert!(!schemas.knows("v1", "InstallConfig"));
    }

    #[test]
    fn kinds_are_listed_with_sources() {
        let schemas = UpstreamSchemas::new();
        let kinds = schemas.kinds();
        assert_eq!(kinds.len(), KINDS.len());
        assert!(
            kinds.windows(2).all(|pair| pair[0] < pair[1]),
            "sorted, no duplicates"
        );
        for (api_version, kind) in &kinds {
            assert!(schemas.knows(api_version, kind));
            assert!(schemas.source_of(api_version, kind).is_some());
        }
        assert_eq!(
            schemas.source_of("metal3.io/v1alpha1", "BareMetalHost"),
            Some("metal3/metal3.io_baremetalhosts.yaml")
        );
        // Listing parsed nothing.
        assert!(schemas.parsed.iter().all(|c| c.get().is_none()));
    }

    #[test]
    fn eight_threads_at_once() {
        let schemas = UpstreamSchemas::new(); // fresh: the threads race to parse, too
        let host = yaml(BARE_METAL_HOST);
        let deployment = yaml(DEPLOYMENT);
        let mut bad_host = host.clone();
        bad_host["spec"]["online"] = Value::String("yes".into());
        let start = std::sync::Barrier::new(8);
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let (schemas, start) = (&schemas, &start);
                let (host, bad_host, deployment) = (&host, &bad_host, &deployment);
                scope.spawn(move || {
                    start.wait();
                    for round in 0..20 {
                        let (api_version, kind, object, valid) = match (thread + round) % 3 {
                            0 => ("metal3.io/v1alpha1", "BareMetalHost", host, true),
                            1 => ("metal3.io/v1alpha1", "BareMetalHost", bad_host, false),
                            _ => ("apps/v1", "Deployment", deployment, true),
                        };
                        let violations = schemas.validate(api_version, kind, object).unwrap();
                        assert_eq!(violations.is_empty(), valid, "{violations:?}");
                    }
                });
            }
        });
        // Only the kind with an invalid object needed its schema.
        let parsed: Vec<_> = KINDS
            .iter()
            .zip(&schemas.parsed)
            .filter(|(_, c)| c.get().is_some())
            .map(|(k, _)| k.kind)
            .collect();
        assert_eq!(parsed, ["BareMetalHost"]);
    }

    /// Every shipped schema converts and compiles, and accepts a minimal object of its kind.
    #[test]
    fn every_kind_compiles() {
        let schemas = UpstreamSchemas::new();
        for entry in &KINDS {
            let object = serde_json::json!({
                "apiVersion": entry.api_version, "kind": entry.kind, "metadata": {"name": "x"}
            });
            let violations = schemas
                .validate(entry.api_version, entry.kind, &object)
                .unwrap();
            assert!(
                violations
                    .iter()
                    .all(|v| !v.message.contains("opsmith bug")),
                "{} {}: {violations:?}",
                entry.api_version,
                entry.kind
            );
        }
    }

    /// The upstream documents, parsed (from the JSON the schemas' build made of them), by
    /// index into `convert::SOURCES`.
    fn sources() -> &'static [Value] {
        static PARSED: OnceLock<Vec<Value>> = OnceLock::new();
        PARSED.get_or_init(|| {
            opsmith_schemas::UPSTREAM_SOURCES
                .iter()
                .map(|text| serde_json::from_str(text).unwrap())
                .collect()
        })
    }

    /// The embedded table and schemas are what the conversion makes of the sources now.
    #[test]
    fn build_output_matches_the_sources() {
        assert_eq!(KINDS.len(), convert::KINDS.len());
        for (kind, entry) in KINDS.iter().zip(&convert::KINDS) {
            assert_eq!(
                (kind.api_version, kind.kind, kind.source),
                (
                    entry.api_version,
                    entry.kind,
                    convert::SOURCES[entry.source].path
                )
            );
            let expected = convert::convert_kind(entry, sources()).unwrap();
            let embedded: Value = serde_json::from_str(kind.schema).unwrap();
            // Order-insensitive: the schemas' build sorts keys, ours keeps their order.
            assert!(embedded == expected, "{} {}", kind.api_version, kind.kind);
            assert_eq!(
                kind.defaults,
                convert::declares_defaults(&expected),
                "{}",
                kind.kind
            );
            assert!(
                !kind.defaults || convert::SOURCES[entry.source].format == convert::Format::Crd,
                "{}: only CRDs keep defaults",
                kind.kind
            );
        }
    }

    /// The kind table says exactly what the shipped files serve.
    #[test]
    fn kind_table_matches_the_files() {
        for (index, source) in convert::SOURCES.iter().enumerate() {
            let listed: BTreeSet<(String, String)> = convert::KINDS
                .iter()
                .filter(|entry| entry.source == index)
                .map(|entry| (entry.api_version.to_owned(), entry.kind.to_owned()))
                .collect();
            let document = &sources()[index];
            match source.format {
                convert::Format::Crd => {
                    let group = document["spec"]["group"].as_str().unwrap();
                    let kind = document["spec"]["names"]["kind"].as_str().unwrap();
                    let served: BTreeSet<(String, String)> = document["spec"]["versions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|version| version["served"] == true)
                        .map(|version| {
                            (
                                format!("{group}/{}", version["name"].as_str().unwrap()),
                                kind.to_owned(),
                            )
                        })
                        .collect();
                    assert_eq!(listed, served, "{}", source.path);
                }
                convert::Format::OpenApi => {
                    let definitions = convert::definitions(sources(), index).unwrap();
                    for entry in convert::KINDS.iter().filter(|entry| entry.source == index) {
                        let gvk =
                            &definitions[entry.definition]["x-kubernetes-group-version-kind"][0];
                        let group = gvk["group"].as_str().unwrap();
                        let version = gvk["version"].as_str().unwrap();
                        let api_version = if group.is_empty() {
                            version.to_owned()
                        } else {
                            format!("{group}/{version}")
                        };
                        assert_eq!(
                            (api_version.as_str(), gvk["kind"].as_str().unwrap()),
                            (entry.api_version, entry.kind)
                        );
                    }
                }
                // A schema of our own for one kind, which its title names.
                convert::Format::JsonSchema => {
                    let title = document["title"].as_str().unwrap_or_default();
                    assert_eq!(listed.len(), 1, "{}", source.path);
                    let (_, kind) = listed.first().unwrap();
                    assert!(title.contains(kind.as_str()), "{}: {title}", source.path);
                    assert_eq!(
                        document["$schema"], "https://json-schema.org/draft/2020-12/schema",
                        "{}",
                        source.path
                    );
                }
            }
        }
    }

    /// `validate` skips defaulting for objects that are valid as written. That is right as
    /// long as no default lands where a sibling rule (`anyOf`, `not`, `maxProperties`, ...)
    /// could reject it. Only Route's `spec` has one, and its default satisfies the rule.
    #[test]
    fn defaults_only_meet_known_constraints() {
        fn walk(schema: &Value, pointer: &str, found: &mut Vec<String>) {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            let defaulted = properties.values().any(|p| p.get("default").is_some());
            let rules = [
                "allOf",
                "anyOf",
                "oneOf",
                "not",
                "maxProperties",
                "minProperties",
            ];
            if defaulted && rules.iter().any(|rule| schema.get(rule).is_some()) {
                found.push(pointer.to_owned());
            }
            for (name, property) in properties {
                walk(property, &format!("{pointer}/{name}"), found);
                for key in ["items", "additionalProperties"] {
                    if let Some(child) = property.get(key) {
                        walk(child, &format!("{pointer}/{name}/{key}"), found);
                    }
                }
            }
        }
        let mut found = Vec::new();
        for entry in &KINDS {
            if entry.defaults {
                let schema: Value = serde_json::from_str(entry.schema).unwrap();
                let mut here = Vec::new();
                walk(&schema, "", &mut here);
                found.extend(here.into_iter().map(|p| format!("{} {p}", entry.kind)));
            }
        }
        assert_eq!(found, ["Route /spec"]);
    }

    #[test]
    fn conversion_rules() {
        let raw = serde_json::json!({
            "type": "object",
            "description": "dropped",
            "properties": {
                "format": {"type": "string", "format": "byte"},
                "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                "maybe": {"type": "string", "enum": ["a"], "nullable": true},
                "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"a": {"type": "string"}}},
                "ref": {"allOf": [{"$ref": "#/components/schemas/a.B"}], "default": {}},
                "size": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}
            },
            "anyOf": [{"properties": {"format": {"maxLength": 0}}}, {"required": ["port"]}]
        });
        let converted = convert::convert(&raw, convert::Context::OPENAPI);
        assert_eq!(
            converted,
            serde_json::json!({
                "type": "object",
                "properties": {
                    "format": {"type": "string"},
                    "port": {"type": ["integer", "string"]},
                    "maybe": {"type": ["string", "null"], "enum": ["a", null]},
                    "open": {"type": "object", "properties": {"a": {"type": "string"}}},
                    "ref": {"$ref": "#/$defs/a.B"},
                    "size": {"type": "integer", "exclusiveMinimum": 0}
                },
                "anyOf": [{"properties": {"format": {"maxLength": 0}}}, {"required": ["port"]}],
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn pointers_sort_numerically() {
        let mut pointers = vec![
            "/spec/hosts/10",
            "/spec/hosts/2/bmc",
            "/spec",
            "",
            "/spec/hosts/2",
        ];
        pointers.sort_by(|a, b| compare_pointers(a, b));
        assert_eq!(
            pointers,
            [
                "",
                "/spec",
                "/spec/hosts/2",
                "/spec/hosts/2/bmc",
                "/spec/hosts/10"
            ]
        );
    }
}
