//! Prow's services: one Deployment each, the Services that other components
//! and the Route/Ingress reach them by, and ghproxy's cache volume.
//!
//! Names, ports, flags and replica counts follow upstream's starter
//! deployment (config/prow/cluster/starter/starter-s3.yaml), with two
//! changes: GitHub App credentials come from the Secret the github-app
//! component delivers, and blob storage flags appear only when storage is
//! configured.

use opsmith_plugin_sdk::{Value, json};

use crate::settings::{Prow, STORAGE_CREDENTIALS_DIR, STORAGE_CREDENTIALS_KEY};

/// Components try ghproxy first, then GitHub itself if ghproxy is down.
const GITHUB_ENDPOINTS: [&str; 2] = [
    "--github-endpoint=http://ghproxy",
    "--github-endpoint=https://api.github.com",
];
const GRAPHQL_ENDPOINT: &str = "--github-graphql-endpoint=http://ghproxy/graphql";

/// Where the app's private key is mounted, and its file name there.
const GITHUB_KEY_DIR: &str = "/etc/github";
const GITHUB_KEY_FILE: &str = "private-key";
/// Where hook finds the webhook secret; hook's default path.
const HMAC_DIR: &str = "/etc/webhook";
const HMAC_FILE: &str = "hmac";

/// A volume a component mounts; each knows its source and mount path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Volume {
    /// ConfigMap `config`: config.yaml.
    Config,
    /// ConfigMap `plugins`: plugins.yaml.
    Plugins,
    /// The app's private key, alone, from the GitHub App Secret.
    GitHubKey,
    /// The webhook secret, alone, from the GitHub App Secret.
    Hmac,
    /// Blob-storage credentials (service-account.json).
    Storage,
    /// ghproxy's response cache.
    Cache,
}

impl Volume {
    fn name(self) -> &'static str {
        match self {
            Volume::Config => "config",
            Volume::Plugins => "plugins",
            Volume::GitHubKey => "github-app",
            Volume::Hmac => "hmac",
            Volume::Storage => "storage-credentials",
            Volume::Cache => "cache",
        }
    }

    fn mount(self) -> Value {
        let path = match self {
            Volume::Config => "/etc/config",
            Volume::Plugins => "/etc/plugins",
            Volume::GitHubKey => GITHUB_KEY_DIR,
            Volume::Hmac => HMAC_DIR,
            Volume::Storage => STORAGE_CREDENTIALS_DIR,
            Volume::Cache => "/cache",
        };
        let mut mount = json!({ "name": self.name(), "mountPath": path });
        if self != Volume::Cache {
            mount["readOnly"] = json!(true);
        }
        mount
    }

    fn source(self, prow: &Prow) -> Value {
        match self {
            Volume::Config => json!({ "name": "config", "configMap": { "name": "config" } }),
            Volume::Plugins => json!({ "name": "plugins", "configMap": { "name": "plugins" } }),
            // One Secret holds the app id, key and webhook secret; each
            // component gets only the file it needs.
            Volume::GitHubKey => json!({
                "name": self.name(),
                "secret": {
                    "secretName": prow.app.name,
                    "items": [{ "key": prow.app.private_key_key, "path": GITHUB_KEY_FILE }],
                },
            }),
            Volume::Hmac => json!({
                "name": self.name(),
                "secret": {
                    "secretName": prow.app.name,
                    "items": [{ "key": prow.app.webhook_secret_key, "path": HMAC_FILE }],
                },
            }),
            Volume::Storage => json!({
                "name": self.name(),
                "secret": { "secretName": prow.storage.as_ref().map(|s| s.secret.as_str()).unwrap_or_default() },
            }),
            Volume::Cache if prow.config.ghproxy.persistent_cache => json!({
                "name": self.name(),
                "persistentVolumeClaim": { "claimName": "ghproxy" },
            }),
            // Without a volume that outlives the pod, ghproxy starts cold
            // after every restart: more GitHub API calls, nothing lost.
            Volume::Cache => json!({
                "name": self.name(),
                "emptyDir": { "sizeLimit": format!("{}Gi", prow.config.ghproxy.cache_size_gb + 1) },
            }),
        }
    }
}

/// What differs between Prow's Deployments; [`deployment`] adds the rest.
struct Component {
    /// Deployment, container, ServiceAccount and `app` label.
    name: &'static str,
    /// Key in `images` (upstream's image name).
    image: &'static str,
    replicas: u32,
    /// Singletons (tide, horologium, ghproxy) must never run twice, even
    /// during a rollout.
    recreate: bool,
    termination_grace_seconds: Option<u32>,
    args: Vec<String>,
    /// Authenticates to GitHub as the app: gets GITHUB_APP_ID and the key.
    github_app: bool,
    volumes: Vec<Volume>,
    /// Container ports, named so Services and Routes can refer to them.
    ports: Vec<Value>,
    /// hook and deck answer /healthz on 8081, as upstream probes them.
    health_probes: bool,
    /// ghproxy does not call the Kubernetes API and has no ServiceAccount.
    service_account: bool,
    /// Serves Prometheus metrics at :9090/metrics, as every component that
    /// calls Prow's metrics.ExposeMetrics does (kubernetes-sigs/prow
    /// cmd/*/main.go; pkg/flagutil/instrumentation.go DefaultMetricsPort,
    /// pkg/metrics/metrics.go serves "/metrics"), unless config.yaml sets a
    /// push_gateway, which opsmith does not.
    metrics: bool,
}

/// Prow's default metrics port (`--metrics-port`).
const METRICS_PORT: u16 = 9090;
/// Prow's default health port (`--health-port`): /healthz and /healthz/ready.
pub const HEALTH_PORT: u16 = 8081;

/// Every Deployment, Service, the ServiceMonitor and the ghproxy PVC.
pub fn objects(prow: &Prow) -> Vec<Value> {
    let components = [
        hook(),
        deck(prow),
        tide(prow),
        horologium(),
        sinker(),
        crier(prow),
        prow_controller_manager(),
        status_reconciler(prow),
        ghproxy(prow),
    ];
    let mut out: Vec<Value> = components.iter().map(|c| deployment(prow, c)).collect();
    out.extend(services(prow));
    if prow.config.ghproxy.persistent_cache {
        out.push(ghproxy_cache(prow));
    }
    out
}

/// The ServiceAccount names the Deployments run as (for rbac).
pub fn service_accounts() -> [&'static str; 8] {
    [
        "hook",
        "deck",
        "tide",
        "horologium",
        "sinker",
        "crier",
        "prow-controller-manager",
        "statusreconciler",
    ]
}

fn args(flags: &[&str]) -> Vec<String> {
    flags.iter().map(|f| (*f).to_owned()).collect()
}

/// The flags of a component that talks to GitHub as the app.
fn github_flags() -> Vec<String> {
    let mut flags = args(&GITHUB_ENDPOINTS);
    flags.push("--github-app-id=$(GITHUB_APP_ID)".to_owned());
    flags.push(format!(
        "--github-app-private-key-path={GITHUB_KEY_DIR}/{GITHUB_KEY_FILE}"
    ));
    flags
}

/// `--s3-credentials-file=...` or `--gcs-credentials-file=...`, with storage.
fn storage_flag(prow: &Prow) -> Option<String> {
    let storage = prow.storage.as_ref()?;
    Some(format!(
        "{}={STORAGE_CREDENTIALS_DIR}/{STORAGE_CREDENTIALS_KEY}",
        storage.provider.credentials_flag()
    ))
}

/// The storage volume, when there is storage.
fn storage_volume(prow: &Prow) -> Vec<Volume> {
    prow.storage.iter().map(|_| Volume::Storage).collect()
}

fn hook() -> Component {
    let mut args = args(&[
        "--dry-run=false",
        "--config-path=/etc/config/config.yaml",
        "--plugin-config=/etc/plugins/plugins.yaml",
        // Every webhook delivery is checked against the app's webhook secret.
        "--hmac-secret-file=/etc/webhook/hmac",
    ]);
    args.extend(github_flags());
    Component {
        name: "hook",
        image: "hook",
        replicas: 2,
        recreate: false,
        termination_grace_seconds: Some(180),
        args,
        github_app: true,
        volumes: vec![
            Volume::Hmac,
            Volume::GitHubKey,
            Volume::Config,
            Volume::Plugins,
        ],
        ports: vec![json!({ "name": "http", "containerPort": 8888 })],
        health_probes: true,
        service_account: true,
        metrics: true,
    }
}

fn deck(prow: &Prow) -> Component {
    let mut args = args(&[
        "--config-path=/etc/config/config.yaml",
        "--plugin-config=/etc/plugins/plugins.yaml",
        "--tide-url=http://tide/",
        "--hook-url=http://hook:8888/plugin-help",
    ]);
    args.extend(github_flags());
    args.push(GRAPHQL_ENDPOINT.to_owned());
    // Spyglass renders job pages from the artifacts in blob storage.
    if let Some(flag) = storage_flag(prow) {
        args.push(flag);
        args.push("--spyglass=true".to_owned());
    }
    let mut volumes = vec![Volume::Config, Volume::GitHubKey, Volume::Plugins];
    volumes.extend(storage_volume(prow));
    Component {
        name: "deck",
        image: "deck",
        replicas: 2,
        recreate: false,
        termination_grace_seconds: Some(30),
        args,
        github_app: true,
        volumes,
        ports: vec![json!({ "name": "http", "containerPort": 8080 })],
        health_probes: true,
        service_account: true,
        metrics: true,
    }
}

fn tide(prow: &Prow) -> Component {
    let mut args = args(&["--dry-run=false", "--config-path=/etc/config/config.yaml"]);
    args.extend(github_flags());
    args.push(GRAPHQL_ENDPOINT.to_owned());
    // Tide's sync status and merge history survive restarts in the bucket.
    if let (Some(flag), Some(storage)) = (storage_flag(prow), &prow.storage) {
        args.push(flag);
        args.push(format!("--status-path={}/tide-status", storage.bucket));
        args.push(format!(
            "--history-uri={}/tide-history.json",
            storage.bucket
        ));
    }
    let mut volumes = vec![Volume::GitHubKey, Volume::Config];
    volumes.extend(storage_volume(prow));
    Component {
        name: "tide",
        image: "tide",
        replicas: 1,
        recreate: true,
        termination_grace_seconds: None,
        args,
        github_app: true,
        volumes,
        ports: vec![json!({ "name": "http", "containerPort": 8888 })],
        health_probes: false,
        service_account: true,
        metrics: true,
    }
}

fn horologium() -> Component {
    Component {
        name: "horologium",
        image: "horologium",
        replicas: 1,
        recreate: true,
        termination_grace_seconds: Some(30),
        args: args(&["--dry-run=false", "--config-path=/etc/config/config.yaml"]),
        github_app: false,
        volumes: vec![Volume::Config],
        ports: vec![],
        health_probes: false,
        service_account: true,
        metrics: true,
    }
}

fn sinker() -> Component {
    Component {
        name: "sinker",
        image: "sinker",
        replicas: 1,
        recreate: false,
        termination_grace_seconds: None,
        args: args(&["--config-path=/etc/config/config.yaml", "--dry-run=false"]),
        github_app: false,
        volumes: vec![Volume::Config],
        ports: vec![],
        health_probes: false,
        service_account: true,
        metrics: true,
    }
}

fn crier(prow: &Prow) -> Component {
    let mut args = args(&[
        "--config-path=/etc/config/config.yaml",
        "--github-workers=10",
    ]);
    // Without storage there is nowhere to report finished jobs' pod info to.
    if let Some(flag) = storage_flag(prow) {
        args.push("--blob-storage-workers=10".to_owned());
        args.push("--kubernetes-blob-storage-workers=10".to_owned());
        args.push(flag);
    }
    args.extend(github_flags());
    let mut volumes = vec![Volume::Config, Volume::GitHubKey];
    volumes.extend(storage_volume(prow));
    Component {
        name: "crier",
        image: "crier",
        replicas: 1,
        recreate: false,
        termination_grace_seconds: Some(30),
        args,
        github_app: true,
        volumes,
        ports: vec![],
        health_probes: false,
        service_account: true,
        metrics: true,
    }
}

fn prow_controller_manager() -> Component {
    let mut args = args(&[
        "--dry-run=false",
        "--config-path=/etc/config/config.yaml",
        // plank: turns ProwJobs into pods in the test-pod namespace.
        "--enable-controller=plank",
    ]);
    args.extend(github_flags());
    Component {
        name: "prow-controller-manager",
        image: "prow-controller-manager",
        replicas: 1,
        recreate: false,
        termination_grace_seconds: None,
        args,
        github_app: true,
        volumes: vec![Volume::GitHubKey, Volume::Config],
        ports: vec![],
        health_probes: false,
        service_account: true,
        metrics: true,
    }
}

fn status_reconciler(prow: &Prow) -> Component {
    let mut args = args(&[
        "--dry-run=false",
        "--continue-on-error=true",
        "--plugin-config=/etc/plugins/plugins.yaml",
        "--config-path=/etc/config/config.yaml",
    ]);
    if let (Some(flag), Some(storage)) = (storage_flag(prow), &prow.storage) {
        args.push(flag);
        args.push(format!(
            "--status-path={}/status-reconciler-status",
            storage.bucket
        ));
    }
    args.extend(github_flags());
    let mut volumes = vec![Volume::GitHubKey, Volume::Config, Volume::Plugins];
    volumes.extend(storage_volume(prow));
    Component {
        // Upstream names the Deployment without the dash, the image with it.
        name: "statusreconciler",
        image: "status-reconciler",
        replicas: 1,
        recreate: false,
        termination_grace_seconds: Some(180),
        args,
        github_app: true,
        volumes,
        ports: vec![],
        health_probes: false,
        service_account: true,
        metrics: false,
    }
}

fn ghproxy(prow: &Prow) -> Component {
    Component {
        name: "ghproxy",
        image: "ghproxy",
        // One cache on one volume: ghproxy does not run in HA.
        replicas: 1,
        recreate: true,
        termination_grace_seconds: None,
        args: vec![
            "--cache-dir=/cache".to_owned(),
            format!("--cache-sizeGB={}", prow.config.ghproxy.cache_size_gb),
            "--serve-metrics=true".to_owned(),
        ],
        github_app: false,
        volumes: vec![Volume::Cache],
        ports: vec![
            json!({ "name": "http", "containerPort": 8888 }),
            json!({ "name": "metrics", "containerPort": 9090 }),
        ],
        health_probes: false,
        service_account: false,
        metrics: true,
    }
}

fn deployment(prow: &Prow, c: &Component) -> Value {
    let mut container = json!({
        "name": c.name,
        "image": prow.config.images.get(c.image),
        "args": c.args,
        "volumeMounts": c.volumes.iter().map(|v| v.mount()).collect::<Vec<_>>(),
        "securityContext": {
            // What OpenShift's restricted-v2 SCC (and the restricted Pod
            // Security Standard) asks of every container.
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
        },
    });
    if c.github_app {
        // The app id is not secret, but it lives with the key, so it comes
        // from the same Secret; --github-app-id=$(GITHUB_APP_ID) expands it.
        container["env"] = json!([{
            "name": "GITHUB_APP_ID",
            "valueFrom": { "secretKeyRef": { "name": prow.app.name, "key": prow.app.app_id_key } },
        }]);
    }
    let mut ports = c.ports.clone();
    let named_metrics = ports.iter().any(|p| p["name"] == "metrics");
    if c.metrics && prow.config.metrics.enabled && !named_metrics {
        ports.push(json!({ "name": "metrics", "containerPort": METRICS_PORT }));
    }
    if !ports.is_empty() {
        container["ports"] = json!(ports);
    }
    if c.health_probes {
        container["livenessProbe"] = json!({
            "httpGet": { "path": "/healthz", "port": HEALTH_PORT },
            "initialDelaySeconds": 3,
            "periodSeconds": 3,
        });
        container["readinessProbe"] = json!({
            "httpGet": { "path": "/healthz/ready", "port": HEALTH_PORT },
            "initialDelaySeconds": 10,
            "periodSeconds": 3,
        });
    }

    let mut pod = json!({
        "securityContext": {
            "runAsNonRoot": true,
            "seccompProfile": { "type": "RuntimeDefault" },
        },
        "containers": [container],
        "volumes": c.volumes.iter().map(|v| v.source(prow)).collect::<Vec<_>>(),
    });
    if c.service_account {
        pod["serviceAccountName"] = json!(c.name);
    } else {
        pod["automountServiceAccountToken"] = json!(false);
    }
    if let Some(seconds) = c.termination_grace_seconds {
        pod["terminationGracePeriodSeconds"] = json!(seconds);
    }

    let strategy = if c.recreate {
        json!({ "type": "Recreate" })
    } else {
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 1 } })
    };

    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": c.name,
            "namespace": prow.namespace,
            "labels": labels(c.name),
        },
        "spec": {
            "replicas": c.replicas,
            "strategy": strategy,
            "selector": { "matchLabels": { "app": c.name } },
            "template": {
                "metadata": { "labels": labels(c.name) },
                "spec": pod,
            },
        },
    })
}

/// `app` is the label upstream selects on; part-of groups Prow's objects.
pub fn labels(app: &str) -> Value {
    json!({ "app": app, "app.kubernetes.io/part-of": "prow" })
}

fn services(prow: &Prow) -> Vec<Value> {
    let service = |name: &str, ports: Vec<Value>| {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": name, "namespace": prow.namespace, "labels": labels(name) },
            "spec": {
                "selector": { "app": name },
                "ports": ports,
            },
        })
    };
    let metrics = prow.config.metrics.enabled;
    let metrics_port = json!({ "name": "metrics", "port": METRICS_PORT, "targetPort": "metrics" });
    // /healthz/ready answers once the component has loaded its config; the
    // smoke check asks it through the Service.
    let health_port = json!({ "name": "health", "port": HEALTH_PORT, "targetPort": HEALTH_PORT });
    let with_metrics = |mut ports: Vec<Value>| {
        if metrics {
            ports.push(metrics_port.clone());
        }
        ports
    };
    let mut services = vec![
        // GitHub's webhooks arrive here through the Route/Ingress at /hook.
        service(
            "hook",
            with_metrics(vec![
                json!({ "name": "http", "port": 8888, "targetPort": "http" }),
                health_port.clone(),
            ]),
        ),
        service(
            "deck",
            with_metrics(vec![
                json!({ "name": "http", "port": 80, "targetPort": "http" }),
                health_port.clone(),
            ]),
        ),
        // deck shows tide's merge pool from http://tide/.
        service(
            "tide",
            with_metrics(vec![
                json!({ "name": "http", "port": 80, "targetPort": "http" }),
            ]),
        ),
        // Components reach ghproxy as http://ghproxy.
        service(
            "ghproxy",
            vec![
                json!({ "name": "http", "port": 80, "targetPort": "http" }),
                metrics_port.clone(),
            ],
        ),
    ];
    if metrics {
        // Components nobody calls get a Service for Prometheus alone.
        for name in ["horologium", "sinker", "crier", "prow-controller-manager"] {
            services.push(service(name, vec![metrics_port.clone()]));
        }
        services.push(service_monitor(prow));
    }
    services
}

/// One ServiceMonitor for every Prow Service with a `metrics` port. It lives
/// beside them: user-workload monitoring ignores a ServiceMonitor's
/// namespaceSelector (ignoreNamespaceSelectors: true in openshift/cluster-monitoring-operator
/// assets/prometheus-user-workload/prometheus.yaml). Services without such a
/// port give no target.
fn service_monitor(prow: &Prow) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": { "name": "prow", "namespace": prow.namespace, "labels": labels("prow") },
        "spec": {
            "selector": { "matchLabels": { "app.kubernetes.io/part-of": "prow" } },
            // The `job` label of each series is the Service's `app`: hook, deck...
            "jobLabel": "app",
            "endpoints": [{ "port": "metrics", "path": "/metrics", "scheme": "http" }],
        },
    })
}

/// ghproxy's cache, one GB larger than the cache ghproxy keeps in it.
fn ghproxy_cache(prow: &Prow) -> Value {
    let ghproxy = &prow.config.ghproxy;
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": { "requests": { "storage": format!("{}Gi", ghproxy.cache_size_gb + 1) } },
    });
    // Unset: the cluster's default StorageClass.
    if let Some(class) = &ghproxy.storage_class_name {
        spec["storageClassName"] = json!(class);
    }
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": { "name": "ghproxy", "namespace": prow.namespace, "labels": labels("ghproxy") },
        "spec": spec,
    })
}
