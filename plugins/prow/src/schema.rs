//! JSON Schema of the component's `config`; opsmith checks the catalog
//! against it before `render` runs.

use opsmith_plugin_sdk::{Value, json};

use crate::settings::{
    DEFAULT_CREDENTIALS_SECRET, DEFAULT_IMAGE_REGISTRY, DEFAULT_IMAGE_TAG, DEFAULT_PLUGINS,
    DEFAULT_TIDE_LABELS, DEFAULT_TIDE_MISSING_LABELS, IMAGE_NAMES,
};

const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const GITHUB_NAME: &str = "^[A-Za-z0-9][-A-Za-z0-9]*$";
const GITHUB_REPO: &str = "^[A-Za-z0-9][-A-Za-z0-9]*/[A-Za-z0-9._-]+$";

pub fn config_schema() -> Value {
    let overrides: serde_json::Map<String, Value> = IMAGE_NAMES
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                json!({ "type": "string", "description": format!("Pull spec of {name}.") }),
            )
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:prow config",
        "description": "Prow, authenticated to GitHub as the catalog's GitHub App (builtin:github-app).",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "namespace": {
                "description": "Namespace of Prow's services and of the ProwJobs (config.yaml prowjob_namespace).",
                "type": "string", "pattern": DNS_LABEL, "maxLength": 63,
                "default": "prow",
            },
            "testPodNamespace": {
                "description": "Namespace job pods run in (config.yaml pod_namespace); must differ from namespace.",
                "type": "string", "pattern": DNS_LABEL, "maxLength": 63,
                "default": "test-pods",
            },
            "orgs": {
                "description": "GitHub orgs Prow serves: plugins, tide and (if enabled) in-repo config apply to every repo in them. The GitHub App must be installed on each. List at least one org or one repo.",
                "type": "array", "items": { "type": "string", "pattern": GITHUB_NAME }, "uniqueItems": true,
                "default": [],
            },
            "repos": {
                "description": "Single repositories (org/repo) Prow serves in orgs not listed in orgs.",
                "type": "array", "items": { "type": "string", "pattern": GITHUB_REPO }, "uniqueItems": true,
                "default": [],
            },
            "plugins": {
                "description": "Hook plugins enabled for every org and repo (plugins.yaml). Leave out config-updater: opsmith owns the config ConfigMaps.",
                "type": "array", "items": { "type": "string", "pattern": "^[a-z][-a-z0-9]*$" }, "uniqueItems": true,
                "default": DEFAULT_PLUGINS,
            },
            "tide": {
                "description": "Tide, which merges PRs that are ready: one query for the orgs and one for the repos.",
                "type": "object", "additionalProperties": false,
                "default": {},
                "properties": {
                    "labels": {
                        "description": "Labels a PR must have to merge.",
                        "type": "array", "items": { "type": "string" },
                        "default": DEFAULT_TIDE_LABELS,
                    },
                    "missingLabels": {
                        "description": "Labels that block a merge.",
                        "type": "array", "items": { "type": "string" },
                        "default": DEFAULT_TIDE_MISSING_LABELS,
                    },
                    "mergeMethod": {
                        "description": "How tide merges: a merge commit, a squash or a rebase.",
                        "enum": ["merge", "squash", "rebase"],
                        "default": "merge",
                    },
                },
            },
            "inRepoConfig": {
                "description": "Also read jobs from each served repo's .prow.yaml (config.yaml in_repo_config). Such jobs are written in the PR under test and can mount any Secret in the test-pod namespace. Off: jobs come only from this catalog, reviewed where the site is.",
                "type": "boolean",
                "default": false,
            },
            "presubmits": {
                "description": "Jobs run on pull requests, reported as a status context named after the job; /test <name> runs one again.",
                "type": "array", "items": job_schema(true),
                "default": [],
            },
            "postsubmits": {
                "description": "Jobs run after a push to a branch (a merge).",
                "type": "array", "items": job_schema(false),
                "default": [],
            },
            "images": {
                "description": "Where Prow's images come from: <registry>/<name>:<tag>, for the services and the pod utilities alike.",
                "type": "object", "additionalProperties": false,
                "default": {},
                "properties": {
                    "registry": {
                        "description": "Image registry and path.",
                        "type": "string", "minLength": 1,
                        "default": DEFAULT_IMAGE_REGISTRY,
                    },
                    "tag": {
                        "description": "Image tag, the same for every image: Prow's components are released together.",
                        "type": "string", "minLength": 1,
                        "default": DEFAULT_IMAGE_TAG,
                    },
                    "overrides": {
                        "description": "Full pull specs for single images, by image name.",
                        "type": "object", "additionalProperties": false,
                        "properties": overrides,
                        "default": {},
                    },
                },
            },
            "storage": {
                "description": "Blob storage for job logs and artifacts (what deck's job pages show), tide's history and status-reconciler's state. Without it Prow still runs, but jobs are undecorated and nothing is uploaded. Default: none.",
                "type": "object", "additionalProperties": false,
                "required": ["bucket", "credentialsRef"],
                "properties": {
                    "bucket": {
                        "description": "s3://<bucket> (S3 or an S3-compatible store such as Ceph RGW or MinIO) or gs://<bucket>.",
                        "type": "string", "pattern": "^(s3|gs)://[a-z0-9][-a-z0-9._]*[a-z0-9]/?$",
                    },
                    "credentialsRef": {
                        "description": "Key in the site's secret store whose value is Prow's credentials file (service-account.json): for S3 a JSON object with region, endpoint, access_key, secret_key, insecure and s3_force_path_style; for GCS a service-account key. Delivered as an ExternalSecret to both namespaces.",
                        "type": "string", "minLength": 1,
                    },
                    "credentialsSecret": {
                        "description": "Name of the Secret the ExternalSecrets create.",
                        "type": "string", "pattern": DNS_LABEL,
                        "default": DEFAULT_CREDENTIALS_SECRET,
                    },
                },
            },
            "exposure": {
                "description": "How deck (/) and hook (/hook, GitHub's webhook URL) are exposed: OpenShift Routes, or one networking.k8s.io Ingress.",
                "enum": ["route", "ingress"],
                "default": "route",
            },
            "host": {
                "description": "Public host name of deck and hook. Default: prow.apps.<site metadata.name>.<site spec.baseDomain>, under the cluster's default ingress domain. The GitHub App's webhook URL is https://<host>/hook.",
                "type": "string",
                "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$",
                "maxLength": 253,
            },
            "ghproxy": {
                "description": "ghproxy, the GitHub API cache every component goes through.",
                "type": "object", "additionalProperties": false,
                "default": {},
                "properties": {
                    "cacheSizeGB": {
                        "description": "Cache size in GB; the volume gets one GB more.",
                        "type": "integer", "minimum": 1, "maximum": 1000,
                        "default": 20,
                    },
                    "persistentCache": {
                        "description": "Keep the cache on a PersistentVolumeClaim (ReadWriteOnce) so it survives restarts; false uses an emptyDir, for clusters without storage.",
                        "type": "boolean",
                        "default": true,
                    },
                    "storageClassName": {
                        "description": "StorageClass of the cache volume. Default: the cluster's default StorageClass.",
                        "type": "string",
                    },
                },
            },
            "installCRD": {
                "description": "Prow needs its ProwJob CRD. Upstream ships it as config/prow/cluster/prowjob-crd/prowjob_customresourcedefinition.yaml, about 700 KB, nearly all of it the embedded pod spec schema; apply that file (server-side: it is too big for client-side apply) and keep it at the release of images.tag. That is the default, because embedding it would make this plugin's output mostly CRD and tie it to one Prow release. true renders a compact CRD instead: same group, names and printer columns, spec and status not validated by the API server (Prow validates jobs itself). Do not combine with upstream's file.",
                "type": "boolean",
                "default": false,
            },
        },
    })
}

fn job_schema(presubmit: bool) -> Value {
    let mut properties = json!({
        "name": {
            "description": "Job name, unique per repository; also the status context.",
            "type": "string", "pattern": "^[A-Za-z0-9-._]+$",
        },
        "repo": {
            "description": "org/repo the job belongs to; it should be in orgs or repos.",
            "type": "string", "pattern": GITHUB_REPO,
        },
        "runIfChanged": {
            "description": "Run only when a changed file matches this regular expression.",
            "type": "string",
        },
        "decorate": {
            "description": "Wrap the job with Prow's pod utilities (clone the repo, upload logs and artifacts). Needs storage. Default: true when storage is configured, false otherwise.",
            "type": "boolean",
        },
        "branches": {
            "description": "Branches (regular expressions) the job runs for. Default: all.",
            "type": "array", "items": { "type": "string" },
            "default": [],
        },
        "spec": {
            "description": "The job's pod, as in a Pod spec.",
            "type": "object", "additionalProperties": false,
            "required": ["containers"],
            "properties": {
                "containers": {
                    "description": "The test container; more than one only in decorated jobs, each with a name.",
                    "type": "array", "minItems": 1, "items": container_schema(),
                },
            },
        },
    });
    if presubmit {
        properties["alwaysRun"] = json!({
            "description": "Run on every PR change. false: run when runIfChanged matches, or on /test <name>.",
            "type": "boolean",
            "default": false,
        });
        properties["optional"] = json!({
            "description": "Do not block merging (tide) on this job.",
            "type": "boolean",
            "default": false,
        });
    }
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["name", "repo", "spec"],
        "properties": properties,
    })
}

fn container_schema() -> Value {
    let quantities = |description: &str| {
        json!({
            "description": description,
            "type": "object", "additionalProperties": { "type": "string" },
            "default": {},
        })
    };
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["image"],
        "properties": {
            "name": { "description": "Container name.", "type": "string", "pattern": DNS_LABEL },
            "image": { "description": "Image to run.", "type": "string", "minLength": 1 },
            "command": {
                "description": "Entrypoint; a decorated job needs command or args.",
                "type": "array", "items": { "type": "string" }, "default": [],
            },
            "args": { "description": "Arguments.", "type": "array", "items": { "type": "string" }, "default": [] },
            "env": {
                "description": "Environment variables.",
                "type": "array", "default": [],
                "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["name", "value"],
                    "properties": {
                        "name": { "description": "Variable name.", "type": "string", "minLength": 1 },
                        "value": { "description": "Value (never a secret: config.yaml is readable).", "type": "string" },
                    },
                },
            },
            "resources": {
                "description": "Requests and limits, as Kubernetes quantities in strings (\"500m\", \"2Gi\").",
                "type": "object", "additionalProperties": false,
                "properties": {
                    "requests": quantities("Resource requests."),
                    "limits": quantities("Resource limits."),
                },
            },
        },
    })
}
