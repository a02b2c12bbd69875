//! The component's `config` from the catalog, and [`Prow`]: that config
//! resolved against the site and checked, which every renderer module reads.

use std::collections::{BTreeMap, BTreeSet};

use opsmith_plugin_sdk::github_app::{self, AppSecret};
use opsmith_plugin_sdk::{Error, Input, Output};
use serde::Deserialize;

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

/// The catalog's `config` for this component; see `schema::config_schema`
/// for what each field means.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    pub namespace: String,
    pub test_pod_namespace: String,
    pub orgs: Vec<String>,
    pub repos: Vec<String>,
    pub plugins: Vec<String>,
    pub tide: Tide,
    pub in_repo_config: bool,
    pub presubmits: Vec<Presubmit>,
    pub postsubmits: Vec<Postsubmit>,
    pub images: Images,
    pub storage: Option<Storage>,
    pub exposure: Exposure,
    pub host: Option<String>,
    pub ghproxy: Ghproxy,
    #[serde(rename = "installCRD")]
    pub install_crd: bool,
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
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Tide {
    pub labels: Vec<String>,
    pub missing_labels: Vec<String>,
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
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Images {
    pub registry: String,
    pub tag: String,
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
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    pub bucket: String,
    pub credentials_ref: String,
    #[serde(default = "default_credentials_secret")]
    pub credentials_secret: String,
}

pub const DEFAULT_CREDENTIALS_SECRET: &str = "storage-credentials";

fn default_credentials_secret() -> String {
    DEFAULT_CREDENTIALS_SECRET.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    Route,
    Ingress,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Ghproxy {
    #[serde(rename = "cacheSizeGB")]
    pub cache_size_gb: u32,
    pub persistent_cache: bool,
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
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Presubmit {
    pub name: String,
    pub repo: String,
    #[serde(default)]
    pub always_run: bool,
    #[serde(default)]
    pub run_if_changed: Option<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub decorate: Option<bool>,
    #[serde(default)]
    pub branches: Vec<String>,
    pub spec: JobSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Postsubmit {
    pub name: String,
    pub repo: String,
    #[serde(default)]
    pub run_if_changed: Option<String>,
    #[serde(default)]
    pub decorate: Option<bool>,
    #[serde(default)]
    pub branches: Vec<String>,
    pub spec: JobSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub containers: Vec<Container>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    #[serde(default)]
    pub name: Option<String>,
    pub image: String,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    #[serde(default)]
    pub resources: Option<Resources>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
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

        let prow = Prow {
            config,
            namespace: &config.namespace,
            test_pod_namespace: &config.test_pod_namespace,
            host,
            app,
            storage,
            extra_repos,
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
