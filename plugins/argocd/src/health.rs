//! Health checks Argo CD lacks for kinds the site's components emit, set on
//! the Argo CD instance as `spec.resourceHealthChecks` of its `ArgoCD`
//! custom resource: the OpenShift GitOps operator writes each into argocd-cm
//! as `resource.customizations.health.<group>_<kind>` and owns argocd-cm, so
//! an edit there would be undone (argoproj-labs/argocd-operator
//! controllers/argocd/configmap.go getResourceHealthChecks; argo-cd
//! docs/operator-manual/health.md).
//!
//! What needs no check from here, because Argo CD has one built in: core
//! Services, PersistentVolumeClaims, Pods, apps/Deployments (and
//! StatefulSets, ReplicaSets, DaemonSets), networking.k8s.io/Ingress and
//! batch/Job (gitops-engine/pkg/health/health.go); route.openshift.io/Route,
//! external-secrets.io/ExternalSecret, operators.coreos.com/Subscription and
//! apiextensions.k8s.io/CustomResourceDefinition (resource_customizations/
//! in argoproj/argo-cd). Kinds with no status that means anything (ConfigMap,
//! ServiceAccount, RBAC, Namespace, Tekton's Task, Pipeline, TriggerBinding
//! and TriggerTemplate, ServiceMonitor, AppProject) have no health and do
//! not count. Argo CD ships none for triggers.tekton.dev/EventListener,
//! operator.tekton.dev/TektonConfig or metal3.io/BareMetalHost, and has had
//! none for argoproj.io/Application since 1.8.
//!
//! The scripts run in Argo CD's Lua sandbox (no standard libraries beyond
//! the base functions): `obj` is the live object; they return a table with
//! `status` (Healthy, Progressing, Degraded) and `message`.

use std::collections::BTreeSet;

use opsmith_plugin_sdk::{Value, json};

/// An EventListener is what Triggers says in its `Ready` condition, which
/// folds in its Deployment's `Available` and `Progressing` conditions and
/// its Service (tektoncd/triggers pkg/apis/triggers/v1beta1
/// event_listener_types.go SetReadyCondition). Not Ready while its
/// Deployment still progresses is a rollout; not Ready once the Deployment
/// stopped progressing (its deadline passed) is a failure.
const EVENT_LISTENER: &str = r#"local ready, progressing
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then ready = condition end
    if condition.type == "Progressing" then progressing = condition end
  end
end
if ready == nil then
  return { status = "Progressing", message = "waiting for Triggers to create the listener" }
end
local message = ready.message or ""
if obj.status.observedGeneration ~= nil and obj.metadata.generation ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  return { status = "Progressing", message = "waiting for Triggers to see the new spec" }
end
if ready.status == "True" then
  return { status = "Healthy", message = message }
end
if ready.status == "False" and progressing ~= nil and progressing.status == "False" then
  return { status = "Degraded", message = message }
end
return { status = "Progressing", message = message }
"#;

/// TektonConfig is Ready once every component the operator installs for it
/// is (tektoncd/operator TektonConfig status, knative conditions). A
/// failing install and one under way look alike from outside: both stay
/// Progressing, with the operator's message.
const TEKTON_CONFIG: &str = r#"if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      if condition.status == "True" then
        return { status = "Healthy", message = condition.message or "" }
      end
      return { status = "Progressing", message = condition.message or "" }
    end
  end
end
return { status = "Progressing", message = "waiting for the operator to install Tekton" }
"#;

/// An Application is as healthy as it reports itself to be. With this, the
/// root Application waits for each sync wave's Applications to be healthy
/// before it syncs the next wave (argo-cd docs/operator-manual/health.md,
/// "Argocd App").
const APPLICATION: &str = r#"if obj.status ~= nil and obj.status.health ~= nil and obj.status.health.status ~= nil then
  return { status = obj.status.health.status, message = obj.status.health.message or "" }
end
return { status = "Progressing", message = "waiting for the Application's first health assessment" }
"#;

/// The health checks opsmith knows, by API group and kind.
const CHECKS: [(&str, &str, &str); 2] = [
    ("triggers.tekton.dev", "EventListener", EVENT_LISTENER),
    ("operator.tekton.dev", "TektonConfig", TEKTON_CONFIG),
];

/// `spec.resourceHealthChecks` for the kinds in `emitted` (group and kind)
/// that opsmith has a check for, and for Applications when `applications`.
pub fn resource_health_checks(
    emitted: &BTreeSet<(String, String)>,
    applications: bool,
) -> Vec<Value> {
    let mut checks: Vec<Value> = CHECKS
        .iter()
        .filter(|(group, kind, _)| emitted.contains(&((*group).to_owned(), (*kind).to_owned())))
        .map(|(group, kind, check)| json!({ "group": group, "kind": kind, "check": check }))
        .collect();
    if applications {
        checks.push(json!({ "group": "argoproj.io", "kind": "Application", "check": APPLICATION }));
    }
    checks
}

#[cfg(test)]
pub const SCRIPTS: [(&str, &str); 3] = [
    ("EventListener", EVENT_LISTENER),
    ("TektonConfig", TEKTON_CONFIG),
    ("Application", APPLICATION),
];
