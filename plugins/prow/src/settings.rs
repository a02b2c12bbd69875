//! The component's `config` from the catalog, and [`Prow`]: that config
//! resolved against the site and checked, which every renderer module reads.

use std::collections::{BTreeMap, BTreeSet};

use opsmith_plugin_sdk::github_app::{self, AppSecret};
use opsmith_plugin_sdk::{Error, Input, Output};
use serde::Deserialize;

use crate::smoke::{self, Smoke};

#[cfg(test)]
use crate::schema::{DNS_LABEL, GITHUB_NAME, GITHUB_REPO, JOB_NAME};

/// Where upstream publishes Prow's images.
pub const DEFAULT_IMAGE_REGISTRY: &str = "us-docker.pkg.dev/k8s-infra-prow/images";
/// The tag upstream's starter deployment (config/prow/cluster/starter) pins
/// every component and pod utility to; they are released together.
pub const DEFAULT_IMAGE_TAG: &str = "v20240802-66b115076";

/// Plugins enabled when the catalog names none: review and merge workflow
/// (approve, lgtm, hold, wip), triage (assign, label, size, help), OWNERS
/// checks, and trigger, which starts presubmits.
pub const DEFAULT_PLUGINS: [&str; 10] = [
    "approve",
    "assign",
    "help",
    "hold",
    "label",
    "lgtm",
    "size",
    "trigger",
    "verify-owners",
    "wip",
];

/// Labels a PR needs before tide merges it, as upstream's starter.
pub const DEFAULT_TIDE_LABELS: [&str; 2] = ["lgtm", "approved"];
/// Labels that keep tide from merging, as upstream's starter.
pub const DEFAULT_TIDE_MISSING_LABELS: [&str; 4] = [
    "needs-rebase",
    "do-not-merge/hold",
    "do-not-merge/work-in-progress",
    "do-not-merge/invalid-owners-file",
];

/// Images of the services and of the pod utilities that decorate job pods,
/// by the name `images.overrides` uses.
pub const IMAGE_NAMES: [&str; 13] = [
    "hook",
    "deck",
    "tide",
    "horologium",
    "sinker",
    "crier",
    "prow-controller-manager",
    "ghproxy",
    "status-reconciler",
    "clonerefs",
    "initupload",
    "entrypoint",
    "sidecar",
];

/// Container names decoration adds to a job pod; a job's own containers must not use them.
const UTILITY_CONTAINERS: [&str; 4] = ["clonerefs", "initupload", "place-entrypoint", "sidecar"];

/// Prow, authenticated to GitHub as the catalog's GitHub App
/// (builtin:github-app).
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "builtin:prow config"))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// A namespace (an RFC 1123 label) for Prow's services and the ProwJobs
    /// (config.yaml prowjob_namespace).
    #[cfg_attr(test, schemars(regex(pattern = DNS_LABEL), length(max = 63)))]
    pub namespace: String,
    /// A namespace (an RFC 1123 label) for the job pods (config.yaml
    /// pod_namespace); it must differ from namespace.
    #[cfg_attr(test, schemars(regex(pattern = DNS_LABEL), length(max = 63)))]
    pub test_pod_namespace: String,
    /// GitHub orgs Prow serves: plugins, tide and (if enabled) in-repo config
    /// apply to every repo in them. The GitHub App must be installed on each.
    /// List at least one org or one repo.
    #[cfg_attr(
        test,
        schemars(inner(regex(pattern = GITHUB_NAME)), extend("uniqueItems" = true))
    )]
    pub orgs: Vec<String>,
    /// Single repositories (org/repo) Prow serves in orgs not listed in orgs.
    #[cfg_attr(
        test,
        schemars(inner(regex(pattern = GITHUB_REPO)), extend("uniqueItems" = true))
    )]
    pub repos: Vec<String>,
    /// Hook plugins enabled for every org and repo (plugins.yaml). Leave out
    /// config-updater: opsmith owns the config ConfigMaps.
    #[cfg_attr(
        test,
        schemars(
            inner(regex(pattern = "^[a-z][-a-z0-9]*$")),
            extend("uniqueItems" = true)
        )
    )]
    pub plugins: Vec<String>,
    /// Tide, which merges PRs that are ready: one query for the orgs and one
    /// for the repos.
    pub tide: Tide,
    /// Also read jobs from each served repo's .prow.yaml (config.yaml
    /// in_repo_config). Such jobs are written in the PR under test and can
    /// mount any Secret in the test-pod namespace. Off: jobs come only from
    /// this catalog, reviewed where the site is.
    pub in_repo_config: bool,
    /// Jobs run on pull requests, reported as a status context named after
    /// the job; /test <name> runs one again.
    pub presubmits: Vec<Presubmit>,
    /// Jobs run after a push to a branch (a merge).
    pub postsubmits: Vec<Postsubmit>,
    /// Where Prow's images come from: <registry>/<name>:<tag>, for the
    /// services and the pod utilities alike.
    pub images: Images,
    /// Blob storage for job logs and artifacts (what deck's job pages show),
    /// tide's history and status-reconciler's state. Without it Prow still
    /// runs, but jobs are undecorated and nothing is uploaded. Default: none.
    pub storage: Option<Storage>,
    /// How deck (/) and hook (/hook, GitHub's webhook URL) are exposed:
    /// OpenShift Routes, or one networking.k8s.io Ingress.
    pub exposure: Exposure,
    /// A public host name (a DNS name with at least two labels) for deck and
    /// hook. Default: prow.apps.<site metadata.name>.<site spec.baseDomain>,
    /// under the cluster's default ingress domain. The GitHub App's webhook
    /// URL is https://<host>/hook.
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$"),
            length(max = 253)
        )
    )]
    pub host: Option<String>,
    /// ghproxy, the GitHub API cache every component goes through.
    pub ghproxy: Ghproxy,
    /// Prow needs its ProwJob CRD. Upstream ships it as
    /// config/prow/cluster/prowjob-crd/prowjob_customresourcedefinition.yaml,
    /// about 700 KB, nearly all of it the embedded pod spec schema; apply
    /// that file (server-side: it is too big for client-side apply) and keep
    /// it at the release of images.tag. That is the default, because
    /// embedding it would make this plugin's output mostly CRD and tie it to
    /// one Prow release. true renders a compact CRD instead: same group,
    /// names and printer columns, spec and status not validated by the API
    /// server (Prow validates jobs itself). Do not combine with upstream's
    /// file.
    #[serde(rename = "installCRD")]
    pub install_crd: bool,
    /// Prometheus metrics: a metrics port (9090, /metrics) on the Services of
    /// the components that serve one (every component but status-reconciler),
    /// and a ServiceMonitor that selects them. OpenShift's user-workload
    /// monitoring scrapes it once an admin enables that (enableUserWorkload:
    /// true in ConfigMap cluster-monitoring-config, namespace
    /// openshift-monitoring); it skips namespaces labelled
    /// openshift.io/cluster-monitoring=true. Turn it off where the
    /// ServiceMonitor CRD (monitoring.coreos.com/v1) is missing.
    pub metrics: Metrics,
    /// A periodic Prow job that checks that hook, deck, the tekton
    /// component's EventListener and the Argo CD API server of the catalog
    /// answer, and fails (a failed ProwJob in deck and in plank's prowjobs
    /// metric) when one does not.
    pub smoke_check: SmokeCheck,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: "prow".to_owned(),
            test_pod_namespace: "test-pods".to_owned(),
            orgs: Vec::new(),
            repos: Vec::new(),
            plugins: DEFAULT_PLUGINS.iter().map(|p| (*p).to_owned()).collect(),
            tide: Tide::default(),
            in_repo_config: false,
            presubmits: Vec::new(),
            postsubmits: Vec::new(),
            images: Images::default(),
            storage: None,
            exposure: Exposure::Route,
            host: None,
            ghproxy: Ghproxy::default(),
            install_crd: false,
            metrics: Metrics::default(),
            smoke_check: SmokeCheck::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Metrics {
    /// Render the metrics ports and the ServiceMonitor.
    pub enabled: bool,
}

// On by default: a ServiceMonitor is inert until user-workload monitoring
// is on, and OpenShift always serves its CRD.
impl Default for Metrics {
    fn default() -> Self {
        Metrics { enabled: true }
    }
}

/// A Go duration, as Prow reads a periodic's interval.
#[cfg(test)]
const INTERVAL: &str = "^([0-9]+(s|m|h))+$";

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SmokeCheck {
    /// Render the periodic job (config.yaml periodics, job opsmith-smoke-check).
    pub enabled: bool,
    /// How often it runs, as a Go duration (30m, 1h).
    #[cfg_attr(test, schemars(regex(pattern = INTERVAL)))]
    pub interval: String,
    /// An image with curl and /bin/sh, pinned by digest
    /// (registry/name@sha256:...); required when enabled.
    #[cfg_attr(
        test,
        schemars(
            with = "String",
            skip_serializing_if = "Option::is_none",
            length(min = 1)
        )
    )]
    pub image: Option<String>,
    /// More http:// or https:// URLs that must answer with a 2xx status,
    /// besides those opsmith derives from the catalog.
    #[cfg_attr(
        test,
        schemars(
            inner(regex(pattern = "^https?://[^\\s]+$")),
            extend("uniqueItems" = true)
        )
    )]
    pub urls: Vec<String>,
}

impl Default for SmokeCheck {
    fn default() -> Self {
        SmokeCheck {
            enabled: false,
            interval: "10m".to_owned(),
            image: None,
            urls: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Tide {
    /// Labels a PR must have to merge.
    pub labels: Vec<String>,
    /// Labels that block a merge.
    pub missing_labels: Vec<String>,
    /// How tide merges: a merge commit, a squash or a rebase.
    pub merge_method: MergeMethod,
}

impl Default for Tide {
    fn default() -> Self {
        Tide {
            labels: DEFAULT_TIDE_LABELS
                .iter()
                .map(|l| (*l).to_owned())
                .collect(),
            missing_labels: DEFAULT_TIDE_MISSING_LABELS
                .iter()
                .map(|l| (*l).to_owned())
                .collect(),
            merge_method: MergeMethod::Merge,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    Merge,
    Squash,
    Rebase,
}

impl MergeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Images {
    /// Image registry and path.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub registry: String,
    /// Image tag, the same for every image: Prow's components are released
    /// together.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub tag: String,
    /// Full pull specs for single images, by image name.
    #[cfg_attr(test, schemars(schema_with = "crate::schema::image_overrides"))]
    pub overrides: BTreeMap<String, String>,
}

impl Default for Images {
    fn default() -> Self {
        Images {
            registry: DEFAULT_IMAGE_REGISTRY.to_owned(),
            tag: DEFAULT_IMAGE_TAG.to_owned(),
            overrides: BTreeMap::new(),
        }
    }
}

impl Images {
    /// The pull spec of one of [`IMAGE_NAMES`].
    pub fn get(&self, name: &str) -> String {
        match self.overrides.get(name) {
            Some(image) => image.clone(),
            None => format!(
                "{}/{}:{}",
                self.registry.trim_end_matches('/'),
                name,
                self.tag
            ),
        }
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// A bucket URL: s3://<bucket> (S3 or an S3-compatible store such as
    /// Ceph RGW or MinIO) or gs://<bucket>.
    #[cfg_attr(
        test,
        schemars(regex(pattern = "^(s3|gs)://[a-z0-9][-a-z0-9._]*[a-z0-9]/?$"))
    )]
    pub bucket: String,
    /// Key in the site's secret store whose value is Prow's credentials file
    /// (service-account.json): for S3 a JSON object with region, endpoint,
    /// access_key, secret_key, insecure and s3_force_path_style; for GCS a
    /// service-account key. Delivered as an ExternalSecret to both
    /// namespaces.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub credentials_ref: String,
    /// A Secret name (an RFC 1123 label): the Secret the ExternalSecrets
    /// create.
    #[serde(default = "default_credentials_secret")]
    #[cfg_attr(test, schemars(regex(pattern = DNS_LABEL)))]
    pub credentials_secret: String,
}

pub const DEFAULT_CREDENTIALS_SECRET: &str = "storage-credentials";

fn default_credentials_secret() -> String {
    DEFAULT_CREDENTIALS_SECRET.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    Route,
    Ingress,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Ghproxy {
    /// Cache size in GB; the volume gets one GB more.
    #[serde(rename = "cacheSizeGB")]
    #[cfg_attr(test, schemars(range(min = 1, max = 1000)))]
    pub cache_size_gb: u32,
    /// Keep the cache on a PersistentVolumeClaim (ReadWriteOnce) so it
    /// survives restarts; false uses an emptyDir, for clusters without
    /// storage.
    pub persistent_cache: bool,
    /// StorageClass of the cache volume. Default: the cluster's default
    /// StorageClass.
    // Left out of `ghproxy`'s default too, which the schema shows.
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub storage_class_name: Option<String>,
}

impl Default for Ghproxy {
    fn default() -> Self {
        Ghproxy {
            cache_size_gb: 20,
            persistent_cache: true,
            storage_class_name: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Presubmit {
    /// A job name (letters, digits, '-', '.' and '_'), unique per repository;
    /// also the status context.
    #[cfg_attr(test, schemars(regex(pattern = JOB_NAME)))]
    pub name: String,
    /// org/repo the job belongs to; it should be in orgs or repos.
    #[cfg_attr(test, schemars(regex(pattern = GITHUB_REPO)))]
    pub repo: String,
    /// Run on every PR change. false: run when runIfChanged matches, or on
    /// /test <name>.
    #[serde(default)]
    pub always_run: bool,
    /// Run only when a changed file matches this regular expression.
    #[serde(default)]
    pub run_if_changed: Option<String>,
    /// Do not block merging (tide) on this job.
    #[serde(default)]
    pub optional: bool,
    /// Wrap the job with Prow's pod utilities (clone the repo, upload logs
    /// and artifacts). Needs storage. Default: true when storage is
    /// configured, false otherwise.
    #[serde(default)]
    pub decorate: Option<bool>,
    /// Branches (regular expressions) the job runs for. Default: all.
    #[serde(default)]
    pub branches: Vec<String>,
    /// The job's pod, as in a Pod spec.
    pub spec: JobSpec,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Postsubmit {
    /// A job name (letters, digits, '-', '.' and '_'), unique per repository;
    /// also the status context.
    #[cfg_attr(test, schemars(regex(pattern = JOB_NAME)))]
    pub name: String,
    /// org/repo the job belongs to; it should be in orgs or repos.
    #[cfg_attr(test, schemars(regex(pattern = GITHUB_REPO)))]
    pub repo: String,
    /// Run only when a changed file matches this regular expression.
    #[serde(default)]
    pub run_if_changed: Option<String>,
    /// Wrap the job with Prow's pod utilities (clone the repo, upload logs
    /// and artifacts). Needs storage. Default: true when storage is
    /// configured, false otherwise.
    #[serde(default)]
    pub decorate: Option<bool>,
    /// Branches (regular expressions) the job runs for. Default: all.
    #[serde(default)]
    pub branches: Vec<String>,
    /// The job's pod, as in a Pod spec.
    pub spec: JobSpec,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// The test container; more than one only in decorated jobs, each with a
    /// name.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub containers: Vec<Container>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields)]
pub struct Container {
    /// A container name (an RFC 1123 label).
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(regex(pattern = DNS_LABEL))
    )]
    pub name: Option<String>,
    /// Image to run.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub image: String,
    /// Entrypoint; a decorated job needs command or args.
    #[serde(default)]
    pub command: Vec<String>,
    /// Arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Requests and limits, as Kubernetes quantities in strings ("500m",
    /// "2Gi").
    #[serde(default)]
    pub resources: Option<Resources>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields)]
pub struct EnvVar {
    /// Variable name.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub name: String,
    /// Value (never a secret: config.yaml is readable).
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize, schemars::JsonSchema))]
#[cfg_attr(test, schemars(inline))]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Resource requests.
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    /// Resource limits.
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}

/// Where job logs, artifacts and tide's history go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    S3,
    Gcs,
}

impl Provider {
    /// The flag components read blob-storage credentials from.
    pub fn credentials_flag(self) -> &'static str {
        match self {
            Provider::S3 => "--s3-credentials-file",
            Provider::Gcs => "--gcs-credentials-file",
        }
    }

    /// The decoration-config field naming the Secret pod utilities upload with.
    pub fn decoration_secret_field(self) -> &'static str {
        match self {
            Provider::S3 => "s3_credentials_secret",
            Provider::Gcs => "gcs_credentials_secret",
        }
    }
}

/// Blob storage, resolved.
#[derive(Debug, Clone)]
pub struct BlobStorage {
    pub provider: Provider,
    /// `s3://name` or `gs://name`, as Prow wants it.
    pub bucket: String,
    /// Secret holding `service-account.json`, in both namespaces.
    pub secret: String,
    /// Key of that file in the site's secret store.
    pub credentials_ref: String,
}

/// The file inside the storage Secret; Prow's components and pod utilities
/// both expect this key.
pub const STORAGE_CREDENTIALS_KEY: &str = "service-account.json";
/// Where components mount the storage Secret.
pub const STORAGE_CREDENTIALS_DIR: &str = "/etc/storage-credentials";

/// A job after the checks: which config it came from and whether it is decorated.
pub struct JobRef<'a> {
    pub pointer: String,
    pub repo: &'a str,
    pub name: &'a str,
    pub decorate: bool,
}

/// The component's config resolved against the site: what the renderer modules read.
pub struct Prow<'a> {
    pub config: &'a Config,
    /// Prow's own namespace: its services and the ProwJobs.
    pub namespace: &'a str,
    /// Where job pods run.
    pub test_pod_namespace: &'a str,
    /// The public host name of deck and hook.
    pub host: String,
    /// The GitHub App's Secret, delivered by the github-app component.
    pub app: AppSecret,
    pub storage: Option<BlobStorage>,
    /// Repos listed in `repos` whose org is not in `orgs`: the ones that need
    /// their own plugin and tide entries.
    pub extra_repos: Vec<&'a str>,
    /// The periodic smoke check, when enabled.
    pub smoke: Option<Smoke>,
}

impl<'a> Prow<'a> {
    /// Resolves `config` and checks what the schema cannot: errors stop the
    /// render, doubtful but workable choices become warnings in `out`.
    pub fn resolve(input: &Input, config: &'a Config, out: &mut Output) -> Result<Self, Error> {
        let app = github_app::app_secret(&input.catalog).ok_or_else(|| {
            Error::at(
                "/catalog",
                "prow authenticates to GitHub as a GitHub App: add an enabled component with \
                 plugin builtin:github-app to the catalog, it delivers the app's Secret to prow",
            )
        })?;

        if config.orgs.is_empty() && config.repos.is_empty() {
            return Err(Error::at(
                "/config/orgs",
                "list the GitHub orgs (orgs) or repositories (repos, as org/repo) prow serves; with none it would do nothing",
            ));
        }
        if config.namespace == config.test_pod_namespace {
            return Err(Error::at(
                "/config/testPodNamespace",
                format!(
                    "job pods need a namespace of their own, apart from prow's services and secrets in {:?}",
                    config.namespace
                ),
            ));
        }
        for name in config.images.overrides.keys() {
            if !IMAGE_NAMES.contains(&name.as_str()) {
                return Err(Error::at(
                    &format!("/config/images/overrides/{}", pointer_escape(name)),
                    format!(
                        "no Prow image is called {name:?}; known: {}",
                        IMAGE_NAMES.join(", ")
                    ),
                ));
            }
        }

        let storage = match &config.storage {
            Some(s) => Some(BlobStorage {
                provider: bucket_provider(&s.bucket)?,
                bucket: s.bucket.trim_end_matches('/').to_owned(),
                secret: s.credentials_secret.clone(),
                credentials_ref: s.credentials_ref.clone(),
            }),
            None => {
                out.warn(
                    "/config/storage",
                    "no blob storage configured: prow runs, but jobs are not decorated (no log or artifact \
                     upload, no spyglass pages in deck), and tide and status-reconciler keep their state \
                     in memory only; set storage.bucket to an s3:// or gs:// bucket",
                );
                None
            }
        };

        let orgs: BTreeSet<&str> = config.orgs.iter().map(String::as_str).collect();
        let extra_repos: Vec<&str> = config
            .repos
            .iter()
            .map(String::as_str)
            .filter(|r| !orgs.contains(org_of(r)))
            .collect();

        if let Some(i) = config.plugins.iter().position(|p| p == "config-updater") {
            out.warn(
                &format!("/config/plugins/{i}"),
                "config-updater rewrites the config and plugins ConfigMaps from a repository, \
                 but opsmith renders them and Argo CD would put them back: leave it out",
            );
        }

        let host = config.host.clone().unwrap_or_else(|| {
            format!(
                "prow.apps.{}.{}",
                input.site.metadata.name, input.site.spec.base_domain
            )
        });

        let smoke = smoke::resolve(input, config, &config.namespace, out)?;

        let prow = Prow {
            config,
            namespace: &config.namespace,
            test_pod_namespace: &config.test_pod_namespace,
            host,
            app,
            storage,
            extra_repos,
            smoke,
        };
        prow.check_jobs(out)?;
        Ok(prow)
    }

    /// Whether `repo` (org/repo) is served: its org is in `orgs` or it is in `repos`.
    pub fn serves(&self, repo: &str) -> bool {
        self.config.orgs.iter().any(|o| o == org_of(repo))
            || self.config.repos.iter().any(|r| r == repo)
    }

    /// Whether a job is decorated: as it says, else whenever there is
    /// storage to upload its logs to.
    pub fn decorates(&self, explicit: Option<bool>) -> bool {
        explicit.unwrap_or(self.storage.is_some())
    }

    /// Every presubmit and postsubmit, with its pointer and decoration resolved.
    pub fn jobs(&self) -> Vec<(JobRef<'a>, &'a JobSpec)> {
        let decorate = |d: Option<bool>| self.decorates(d);
        let pre = self.config.presubmits.iter().enumerate().map(|(i, j)| {
            let job = JobRef {
                pointer: format!("/config/presubmits/{i}"),
                repo: &j.repo,
                name: &j.name,
                decorate: decorate(j.decorate),
            };
            (job, &j.spec)
        });
        let post = self.config.postsubmits.iter().enumerate().map(|(i, j)| {
            let job = JobRef {
                pointer: format!("/config/postsubmits/{i}"),
                repo: &j.repo,
                name: &j.name,
                decorate: decorate(j.decorate),
            };
            (job, &j.spec)
        });
        pre.chain(post).collect()
    }

    /// The rules Prow's own config loader enforces on jobs, checked here so
    /// that a mistake shows at its catalog line rather than as a crash-looping hook.
    fn check_jobs(&self, out: &mut Output) -> Result<(), Error> {
        for (i, job) in self.config.presubmits.iter().enumerate() {
            if job.always_run && job.run_if_changed.is_some() {
                return Err(Error::at(
                    &format!("/config/presubmits/{i}/runIfChanged"),
                    "a presubmit either always runs or runs when files change: drop alwaysRun or runIfChanged",
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for (job, spec) in self.jobs() {
            let kind = if job.pointer.starts_with("/config/presubmits") {
                "presubmit"
            } else {
                "postsubmit"
            };
            if !seen.insert((kind, job.repo, job.name)) {
                return Err(Error::at(
                    &format!("{}/name", job.pointer),
                    format!(
                        "{repo} already has a {kind} called {name:?}",
                        repo = job.repo,
                        name = job.name
                    ),
                ));
            }
            if !self.serves(job.repo) {
                out.warn(
                    &format!("{}/repo", job.pointer),
                    format!("{} is in neither orgs nor repos, so prow receives no events for it and never runs this job", job.repo),
                );
            }
            if job.decorate && self.storage.is_none() {
                return Err(Error::at(
                    &format!("{}/decorate", job.pointer),
                    "decorated jobs upload their logs to blob storage: configure storage, or set decorate: false",
                ));
            }
            check_containers(&job, spec)?;
        }
        Ok(())
    }
}

fn check_containers(job: &JobRef, spec: &JobSpec) -> Result<(), Error> {
    let at = |c: usize, field: &str| format!("{}/spec/containers/{c}{field}", job.pointer);
    if spec.containers.len() > 1 && !job.decorate {
        return Err(Error::at(
            &at(1, ""),
            "prow runs more than one container in a job only when the job is decorated",
        ));
    }
    let mut names = BTreeSet::new();
    for (c, container) in spec.containers.iter().enumerate() {
        if job.decorate && container.command.is_empty() && container.args.is_empty() {
            return Err(Error::at(
                &at(c, ""),
                "a decorated job's container needs a command or args: entrypoint wraps them to capture the log",
            ));
        }
        if spec.containers.len() > 1 {
            let Some(name) = &container.name else {
                return Err(Error::at(
                    &at(c, ""),
                    "give each container a name when a job has more than one",
                ));
            };
            if UTILITY_CONTAINERS.contains(&name.as_str()) || !names.insert(name.as_str()) {
                return Err(Error::at(
                    &at(c, "/name"),
                    format!(
                        "container name {name:?} is taken (by another container or a pod utility)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn bucket_provider(bucket: &str) -> Result<Provider, Error> {
    if bucket.starts_with("s3://") {
        Ok(Provider::S3)
    } else if bucket.starts_with("gs://") {
        Ok(Provider::Gcs)
    } else {
        Err(Error::at(
            "/config/storage/bucket",
            "prefix the bucket with s3:// (S3 or an S3-compatible store) or gs:// (Google Cloud Storage)",
        ))
    }
}

/// The org of `org/repo`.
pub fn org_of(repo: &str) -> &str {
    repo.split_once('/').map_or(repo, |(org, _)| org)
}

/// Escapes a map key for use in a JSON pointer (RFC 6901).
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
