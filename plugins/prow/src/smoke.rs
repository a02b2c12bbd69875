//! The smoke check: a periodic job (config.yaml `periodics`) whose pod asks
//! each component of the site whether it answers, and fails when one does
//! not. Its result shows in deck and in plank's `prowjobs` metric, which the
//! ServiceMonitor makes queryable.
//!
//! What it asks, each through its in-cluster Service:
//!
//! - hook and deck: `/healthz/ready` on Prow's health port, what upstream's
//!   readiness probes ask (kubernetes-sigs/prow pkg/pjutil/health.go);
//! - the tekton component's EventListener: `/live` on its listener port,
//!   what Triggers' own probes ask (tektoncd/triggers
//!   pkg/reconciler/eventlistener/resources/deployment.go, pkg/adapter/adapter.go);
//!   Triggers names the Service `el-<listener>`;
//! - the argocd component's API server: `/healthz` (argoproj/argo-cd
//!   server/server.go, util/healthz) on `<instance>-server`, the Service the
//!   Argo CD operator creates (argoproj-labs/argocd-operator
//!   controllers/argocd/service.go), over HTTPS;
//! - any URL the config adds.

use opsmith_plugin_sdk::{Error, Input, Output, Value, json};

use crate::components::HEALTH_PORT;
use crate::settings::Config;

/// The job's name, in deck and in metrics.
pub const JOB_NAME: &str = "opsmith-smoke-check";

/// Checks every URL it is given, prints one line for each and exits 1 when
/// any did not answer with a 2xx status. `--insecure`: Argo CD's serving
/// certificate comes from OpenShift's service CA, which the pod does not
/// mount (it mounts nothing); the check sends no credentials.
pub const SCRIPT: &str = r#"status=0
for url in "$@"; do
  if curl --fail --silent --show-error --insecure --max-time 10 --output /dev/null "$url"; then
    echo "ok: $url"
  else
    echo "no answer: $url"
    status=1
  fi
done
exit "$status"
"#;

/// Defaults of the tekton plugin's config (plugins/tekton/src/config.rs).
const TEKTON_NAMESPACE: &str = "ci";
const TEKTON_LISTENER: &str = "github";
/// The EventListener's port (tektoncd/triggers resources/config.go DefaultPort).
const LISTENER_PORT: u16 = 8080;
/// Defaults of the argocd plugin's config: OpenShift GitOps's instance.
const ARGOCD_NAMESPACE: &str = "openshift-gitops";
const ARGOCD_INSTANCE: &str = "openshift-gitops";

/// The smoke check, resolved.
pub struct Smoke {
    pub interval: String,
    pub image: String,
    pub urls: Vec<String>,
}

/// The smoke check the config asks for, with the URLs of the catalog's
/// components, or `None` when it is off.
pub fn resolve(
    input: &Input,
    config: &Config,
    namespace: &str,
    out: &mut Output,
) -> Result<Option<Smoke>, Error> {
    let smoke = &config.smoke_check;
    if !smoke.enabled {
        return Ok(None);
    }
    let image = smoke.image.clone().ok_or_else(|| {
        Error::at(
            "/config/smokeCheck",
            "the smoke check needs an image with curl and /bin/sh: set smokeCheck.image, pinned by digest",
        )
    })?;
    if !image.contains("@sha256:") {
        out.warn(
            "/config/smokeCheck/image",
            "pin the smoke check's image by digest (name@sha256:...): a tag can move",
        );
    }

    let mut urls = vec![
        format!("http://hook.{namespace}.svc:{HEALTH_PORT}/healthz/ready"),
        format!("http://deck.{namespace}.svc:{HEALTH_PORT}/healthz/ready"),
    ];
    let setting = |component: &str, key: &str| {
        input
            .catalog
            .builtin_component(component)
            .and_then(|c| c.config.as_ref())
            .and_then(|c| c.get(key))
            .cloned()
    };
    // The tekton component renders an EventListener only for repositories.
    let has_listener = setting("tekton", "repositories")
        .and_then(|r| r.as_array().map(|r| !r.is_empty()))
        .unwrap_or(false);
    if has_listener {
        let text = |key: &str, default: &str| {
            setting("tekton", key)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| default.to_owned())
        };
        urls.push(format!(
            "http://el-{}.{}.svc:{LISTENER_PORT}/live",
            text("listenerName", TEKTON_LISTENER),
            text("namespace", TEKTON_NAMESPACE)
        ));
    }
    if input.catalog.builtin_component("argocd").is_some() {
        let text = |key: &str, default: &str| {
            setting("argocd", key)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| default.to_owned())
        };
        urls.push(format!(
            "https://{}-server.{}.svc/healthz",
            text("instance", ARGOCD_INSTANCE),
            text("namespace", ARGOCD_NAMESPACE)
        ));
    }
    for url in &smoke.urls {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    Ok(Some(Smoke {
        interval: smoke.interval.clone(),
        image,
        urls,
    }))
}

/// The periodic job, as config.yaml lists it (kubernetes-sigs/prow
/// pkg/config/jobs.go: Periodic, JobBase, UtilityConfig).
pub fn periodic(smoke: &Smoke, decorate: bool) -> Value {
    json!({
        "name": JOB_NAME,
        "interval": smoke.interval,
        "decorate": decorate,
        "spec": {
            // No ServiceAccount token: the check needs no credentials.
            "automountServiceAccountToken": false,
            "securityContext": { "seccompProfile": { "type": "RuntimeDefault" } },
            "containers": [{
                "name": "smoke-check",
                "image": smoke.image,
                "command": ["/bin/sh", "-c", SCRIPT, JOB_NAME],
                "args": smoke.urls,
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": { "drop": ["ALL"] },
                },
            }],
        },
    })
}
