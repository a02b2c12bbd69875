//! The CI examples users copy: `examples/tekton/*.yaml` and
//! `examples/prow/jobs.yaml`. Each object is checked against the upstream
//! schema opsmith ships for its kind (the same validators `render` uses), the
//! objects against each other (names, params, workspaces and results that
//! Tekton resolves only at run time), their scripts with `sh -n`, and the
//! Tekton Tasks are run the way Tekton runs them, in miniature: real git
//! repositories in a temporary folder and the real binary.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use opsmith::collect::upstream::UpstreamSchemas;
use serde_json::{Value, json};

use crate::support::{opsmith, root, stderr};

/// The image every example runs opsmith in.
const IMAGE_REPOSITORY: &str = "ghcr.io/opsmith-dev/opsmith";

/// Triggers' CRDs declare no schema (`x-kubernetes-preserve-unknown-fields`),
/// so these kinds are checked by [`tekton_objects_refer_to_each_other`] only.
const TRIGGERS_API: &str = "triggers.tekton.dev/v1beta1";
const TRIGGERS_KINDS: [&str; 3] = ["TriggerBinding", "TriggerTemplate", "EventListener"];

/// An object of an example file.
struct Object {
    file: String,
    value: Value,
}

impl Object {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
}

fn load(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// Every object in `examples/tekton/*.yaml`, file by file.
fn tekton_objects() -> Vec<Object> {
    let dir = root().join("examples/tekton");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/tekton")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML in {}", dir.display());
    files
        .iter()
        .flat_map(|path| {
            let file = format!(
                "examples/tekton/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            load(path).into_iter().map(move |value| Object {
                file: file.clone(),
                value,
            })
        })
        .collect()
}

fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .map(|o| &o.value)
}

fn task(name: &str) -> Value {
    find(&tekton_objects(), "Task", name)
        .unwrap_or_else(|| panic!("no Task {name} in examples/tekton"))
        .clone()
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn names(value: &Value) -> BTreeSet<String> {
    list(value)
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect()
}

/// Names of the entries of `value` (params or workspaces) that must be given:
/// params without a default, workspaces not marked optional.
fn required(value: &Value, optional: &str) -> BTreeSet<String> {
    list(value)
        .iter()
        .filter(|v| v.get(optional).is_none_or(|o| o == false))
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect()
}

/// What every `$(...)` in the strings of `value` holds: Tekton's variables,
/// and in scripts the shell's own command substitutions.
fn variables(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut strings = vec![value];
    while let Some(v) = strings.pop() {
        match v {
            Value::String(s) => {
                let mut rest = s.as_str();
                while let Some(start) = rest.find("$(") {
                    rest = &rest[start + 2..];
                    if let Some(end) = rest.find(')') {
                        out.push(rest[..end].to_owned());
                    }
                }
            }
            Value::Array(items) => strings.extend(items),
            Value::Object(fields) => strings.extend(fields.values()),
            _ => {}
        }
    }
    out
}

#[test]
fn tekton_objects_match_their_upstream_schemas() {
    let schemas = UpstreamSchemas::shared();
    let objects = tekton_objects();
    let mut problems = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for object in &objects {
        let api_version = object.value["apiVersion"].as_str().unwrap_or_default();
        let (kind, name) = (object.kind(), object.name());
        *kinds.entry(kind.to_owned()).or_default() += 1;
        match schemas.validate(api_version, kind, &object.value) {
            Some(violations) => problems.extend(
                violations
                    .iter()
                    .map(|v| format!("{}: {kind} {name}: {v}", object.file)),
            ),
            None if api_version == TRIGGERS_API && TRIGGERS_KINDS.contains(&kind) => {}
            None => problems.push(format!(
                "{}: {kind} {name}: opsmith ships no schema for {api_version} {kind}",
                object.file
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (kind, count) in [
        ("Task", 3),
        ("Pipeline", 2),
        ("TriggerTemplate", 2),
        ("EventListener", 1),
    ] {
        assert_eq!(kinds.get(kind), Some(&count), "{kind}s in {kinds:?}");
    }
}

/// The check above can fail: a Task with a misspelt step field and `env`
/// written as a map (a list of name and value in Kubernetes) is refused, at
/// the right places.
#[test]
fn a_broken_task_fails_the_schema_check() {
    let mut broken = task("opsmith-check");
    let step = broken["spec"]["steps"][0].as_object_mut().expect("step");
    let dir = step.remove("workingDir").expect("workingDir");
    step.insert("workDir".to_owned(), dir);
    broken["spec"]["steps"][0]["env"] = json!({ "SITE": "site" });
    let violations = UpstreamSchemas::shared()
        .validate("tekton.dev/v1", "Task", &broken)
        .expect("a schema for Task");
    let shown: Vec<String> = violations.iter().map(ToString::to_string).collect();
    // Both problems, each at its place.
    insta::assert_snapshot!(shown.join("\n"));
}

/// What Tekton resolves only when it runs something: each name a Pipeline,
/// TriggerTemplate or EventListener refers to exists, params and workspaces
/// are declared where they are used and given where they are required, and
/// results are those the Tasks declare.
#[test]
fn tekton_objects_refer_to_each_other() {
    let objects = tekton_objects();
    let namespace = "ci";
    let mut problems = Vec::new();
    for object in &objects {
        let spec = &object.value["spec"];
        let mut found = match object.kind() {
            "Task" => task_problems(spec),
            "Pipeline" => pipeline_problems(spec, &objects),
            "TriggerTemplate" => template_problems(spec, &objects),
            "EventListener" => listener_problems(object, &objects),
            "RoleBinding" | "ClusterRoleBinding" => list(&object.value["subjects"])
                .iter()
                .filter(|s| {
                    let account = s["name"].as_str().unwrap_or_default();
                    find(&objects, "ServiceAccount", account).is_none()
                        || s["namespace"] != namespace
                })
                .map(|s| format!("subject {s} is no ServiceAccount of the examples"))
                .collect(),
            _ => Vec::new(),
        };
        if object.kind() != "ClusterRoleBinding"
            && object.value["metadata"]["namespace"] != namespace
        {
            found.push(format!("not in the namespace `{namespace}`"));
        }
        problems.extend(
            found
                .into_iter()
                .map(|p| format!("{}: {} {}: {p}", object.file, object.kind(), object.name())),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What is wrong with giving the names `given` to `what`, which declares
/// `declared` (params or workspaces; those with the field `optional_key`
/// need not be given).
fn given_problems(
    what: &str,
    noun: &str,
    given: &BTreeSet<String>,
    declared: &Value,
    optional_key: &str,
) -> Vec<String> {
    let known = names(declared);
    let unknown = given
        .difference(&known)
        .map(|n| format!("{what} has no {noun} `{n}`"));
    let missing = required(declared, optional_key)
        .into_iter()
        .filter(|n| !given.contains(n))
        .map(|n| format!("{noun} `{n}` of {what} is not given"));
    unknown.chain(missing).collect()
}

/// A Task's variables name its own params, workspaces and results.
fn task_problems(spec: &Value) -> Vec<String> {
    let params = names(&spec["params"]);
    let workspaces = names(&spec["workspaces"]);
    let results = names(&spec["results"]);
    variables(spec)
        .into_iter()
        .filter(|var| {
            let parts: Vec<&str> = var.split('.').collect();
            match parts.as_slice() {
                ["params", p] => !params.contains(*p),
                ["workspaces", w, "path" | "bound"] => !workspaces.contains(*w),
                ["results", r, "path"] => !results.contains(*r),
                [first, ..] => ["params", "workspaces", "results"].contains(first),
                [] => false,
            }
        })
        .map(|var| format!("`$({var})` names nothing declared"))
        .collect()
}

/// A Pipeline's tasks are Tasks of the examples, given what they need from
/// the Pipeline's params and workspaces; its variables name its params and
/// its tasks' results.
fn pipeline_problems(spec: &Value, objects: &[Object]) -> Vec<String> {
    let mut out = Vec::new();
    let params = names(&spec["params"]);
    let workspaces = names(&spec["workspaces"]);
    let optional = &workspaces - &required(&spec["workspaces"], "optional");
    let tasks: BTreeMap<&str, &Value> = list(&spec["tasks"])
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or_default(), t))
        .collect();
    let task_of = |name: &str| {
        let reference = tasks.get(name)?["taskRef"]["name"].as_str()?;
        find(objects, "Task", reference)
    };
    for var in variables(spec) {
        let parts: Vec<&str> = var.split('.').collect();
        let known = match parts.as_slice() {
            ["params", p] => params.contains(*p),
            ["tasks", t, "results", r] => {
                task_of(t).is_some_and(|task| names(&task["spec"]["results"]).contains(*r))
            }
            _ => false,
        };
        if !known {
            out.push(format!("`$({var})` names nothing declared"));
        }
    }
    for (name, pipeline_task) in &tasks {
        for after in list(&pipeline_task["runAfter"]) {
            if !tasks.contains_key(after.as_str().unwrap_or_default()) {
                out.push(format!("task {name} runs after {after}, which is no task"));
            }
        }
        let Some(task) = task_of(name) else {
            out.push(format!(
                "task {name}: its taskRef names no Task of the examples"
            ));
            continue;
        };
        let what = format!("task {name}'s Task");
        let given = names(&pipeline_task["params"]);
        out.extend(given_problems(
            &what,
            "param",
            &given,
            &task["spec"]["params"],
            "default",
        ));
        let bindings = list(&pipeline_task["workspaces"]);
        let bound = names(&pipeline_task["workspaces"]);
        let declared = &task["spec"]["workspaces"];
        out.extend(given_problems(
            &what,
            "workspace",
            &bound,
            declared,
            "optional",
        ));
        let task_requires = required(declared, "optional");
        for binding in bindings {
            let inner = binding["name"].as_str().unwrap_or_default();
            let outer = binding["workspace"].as_str().unwrap_or_default();
            if !workspaces.contains(outer) {
                out.push(format!(
                    "task {name}: the Pipeline has no workspace `{outer}`"
                ));
            }
            if task_requires.contains(inner) && optional.contains(outer) {
                out.push(format!(
                    "task {name}: its required workspace `{inner}` is bound to the optional `{outer}`"
                ));
            }
        }
    }
    out
}

/// A TriggerTemplate's variables name its params, and each run it starts is
/// a PipelineRun of a Pipeline of the examples, with the params and
/// workspaces that Pipeline needs.
fn template_problems(spec: &Value, objects: &[Object]) -> Vec<String> {
    let mut out = Vec::new();
    let params = names(&spec["params"]);
    for var in variables(spec) {
        if let Some(p) = var.strip_prefix("tt.params.")
            && !params.contains(p)
        {
            out.push(format!("`$({var})` names no param of the template"));
        }
    }
    for run in list(&spec["resourcetemplates"]) {
        if run["apiVersion"] != "tekton.dev/v1" || run["kind"] != "PipelineRun" {
            out.push(format!(
                "starts a {} {}, not a tekton.dev/v1 PipelineRun",
                run["apiVersion"], run["kind"]
            ));
            continue;
        }
        let name = run["spec"]["pipelineRef"]["name"]
            .as_str()
            .unwrap_or_default();
        let Some(pipeline) = find(objects, "Pipeline", name) else {
            out.push(format!("no Pipeline `{name}` in the examples"));
            continue;
        };
        let what = format!("Pipeline {name}");
        let given = names(&run["spec"]["params"]);
        out.extend(given_problems(
            &what,
            "param",
            &given,
            &pipeline["spec"]["params"],
            "default",
        ));
        let bound = names(&run["spec"]["workspaces"]);
        let declared = &pipeline["spec"]["workspaces"];
        out.extend(given_problems(
            &what,
            "workspace",
            &bound,
            declared,
            "optional",
        ));
    }
    out
}

/// An EventListener runs as a ServiceAccount of the examples, is reachable
/// through a Route, and each trigger checks the signature first, then gives
/// its template exactly the params it wants from bindings of the examples.
fn listener_problems(listener: &Object, objects: &[Object]) -> Vec<String> {
    let mut out = Vec::new();
    let spec = &listener.value["spec"];
    let account = spec["serviceAccountName"].as_str().unwrap_or_default();
    if find(objects, "ServiceAccount", account).is_none() {
        out.push(format!("no ServiceAccount `{account}` in the examples"));
    }
    let service = format!("el-{}", listener.name());
    if !objects
        .iter()
        .any(|o| o.kind() == "Route" && o.value["spec"]["to"]["name"] == service.as_str())
    {
        out.push(format!("no Route to its Service `{service}`"));
    }
    for trigger in list(&spec["triggers"]) {
        let name = trigger["name"].as_str().unwrap_or_default();
        let first = list(&trigger["interceptors"]).first();
        if first.map(|i| &i["ref"]["name"]) != Some(&json!("github")) {
            out.push(format!(
                "trigger {name}: the github interceptor (which checks the signature) must come first"
            ));
        }
        let mut given = BTreeSet::new();
        for binding in list(&trigger["bindings"]) {
            let binding = binding["ref"].as_str().unwrap_or_default();
            match find(objects, "TriggerBinding", binding) {
                Some(b) => given.extend(names(&b["spec"]["params"])),
                None => out.push(format!("trigger {name}: no TriggerBinding `{binding}`")),
            }
        }
        let template = trigger["template"]["ref"].as_str().unwrap_or_default();
        match find(objects, "TriggerTemplate", template) {
            Some(t) => out.extend(
                given_problems(
                    &format!("TriggerTemplate {template}"),
                    "param",
                    &given,
                    &t["spec"]["params"],
                    "default",
                )
                .into_iter()
                .map(|p| format!("trigger {name}: {p}")),
            ),
            None => out.push(format!("trigger {name}: no TriggerTemplate `{template}`")),
        }
    }
    out
}

/// `sh -n` on `script`; `what` names it in the failure.
fn assert_parses(what: &str, script: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("script");
    std::fs::write(&file, script).expect("write script");
    let out = Command::new("sh")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("run sh");
    assert!(out.status.success(), "{what}: {}", stderr(&out));
}

/// Every step's script parses, and takes parameters, workspaces and results
/// only through its environment: a revision comes from a webhook payload,
/// and Tekton would paste a `$(params.…)` into the script text unquoted.
#[test]
fn tekton_scripts_parse_and_take_values_from_the_environment() {
    let mut scripts = 0;
    for object in tekton_objects() {
        for step in list(&object.value["spec"]["steps"]) {
            let Some(script) = step["script"].as_str() else {
                continue;
            };
            let what = format!("{} {} step {}", object.file, object.name(), step["name"]);
            assert!(script.starts_with("#!/bin/sh\n"), "{what}: no #!/bin/sh");
            assert_parses(&what, script);
            for var in variables(&json!(script)) {
                assert!(
                    !["params.", "workspaces.", "results.", "tt.", "body."]
                        .iter()
                        .any(|p| var.starts_with(p)),
                    "{what}: `$({var})` in the script text"
                );
            }
            scripts += 1;
        }
    }
    assert_eq!(scripts, 3);
}

/// Prow's job config, as Prow turns each job into a ProwJob: the job's
/// `spec` becomes `pod_spec`, which the ProwJob CRD checks as a Kubernetes
/// PodSpec. The scripts parse.
#[test]
fn prow_jobs_match_the_prowjob_schema() {
    let config = &load(&root().join("examples/prow/jobs.yaml"))[0];
    let schemas = UpstreamSchemas::shared();
    let mut problems = Vec::new();
    let mut jobs = 0;
    for (section, job_type) in [("presubmits", "presubmit"), ("postsubmits", "postsubmit")] {
        let repos = config[section].as_object().expect(section);
        for (repo, repo_jobs) in repos {
            let (org, name) = repo.split_once('/').expect("org/repo");
            for job in list(repo_jobs) {
                let job_name = job["name"].as_str().expect("job name");
                let mut pod_spec = job["spec"].clone();
                for container in pod_spec["containers"].as_array_mut().expect("containers") {
                    // Prow names the test container `test` when the job does not.
                    container
                        .as_object_mut()
                        .expect("container")
                        .entry("name")
                        .or_insert_with(|| json!("test"));
                    if container["command"] == json!(["sh", "-c"]) {
                        let script = container["args"][0].as_str().expect("script");
                        assert_parses(job_name, script);
                    }
                }
                let mut spec = json!({
                    "type": job_type,
                    "agent": "kubernetes",
                    "job": job_name,
                    "refs": { "org": org, "repo": name, "base_ref": "main" },
                    "pod_spec": pod_spec,
                });
                for key in ["extra_refs", "max_concurrency"] {
                    if let Some(value) = job.get(key) {
                        spec[key] = value.clone();
                    }
                }
                let prowjob = json!({
                    "apiVersion": "prow.k8s.io/v1",
                    "kind": "ProwJob",
                    "metadata": { "name": job_name },
                    "spec": spec,
                });
                let violations = schemas
                    .validate("prow.k8s.io/v1", "ProwJob", &prowjob)
                    .expect("a schema for ProwJob");
                problems.extend(violations.iter().map(|v| format!("{job_name}: {v}")));
                jobs += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(jobs, 2);
}

/// Both examples and docs/ci.md name one release of the published image, by
/// a version (not `latest`), so a presubmit and a postsubmit render alike.
#[test]
fn examples_run_one_pinned_release_of_the_image() {
    let mut images = BTreeSet::new();
    for object in tekton_objects() {
        for step in list(&object.value["spec"]["steps"]) {
            images.insert(step["image"].as_str().unwrap_or_default().to_owned());
        }
    }
    let prow = &load(&root().join("examples/prow/jobs.yaml"))[0];
    for section in ["presubmits", "postsubmits"] {
        for jobs in prow[section].as_object().expect(section).values() {
            for job in list(jobs) {
                for container in list(&job["spec"]["containers"]) {
                    images.insert(container["image"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    }
    assert_eq!(images.len(), 1, "{images:?}");
    let image = images.pop_first().expect("an image");
    let version = image
        .strip_prefix(&format!("{IMAGE_REPOSITORY}:"))
        .unwrap_or_else(|| panic!("`{image}` is not {IMAGE_REPOSITORY}:<version>"));
    let numbers: Vec<&str> = version.split('.').collect();
    assert!(
        numbers.len() == 3
            && numbers
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        "`{image}`: the tag should be a release version such as 0.1.0"
    );
    let docs = std::fs::read_to_string(root().join("docs/ci.md")).expect("docs/ci.md");
    // A mention in a hand-written page, not an output.
    assert!(docs.contains(&image), "docs/ci.md does not name {image}");
}

// ---------------------------------------------------------------------------------------------
// Running the Tasks: Tekton in miniature. Tekton substitutes `$(params.…)`,
// `$(workspaces.…)` and `$(results.…)` into each step's env and workingDir,
// mounts the workspaces and volumes, runs the steps in order until one
// fails, and reads the results from files. Here the step's image is this
// machine, with the binary under test first on PATH.

struct Ran {
    status: Option<i32>,
    results: BTreeMap<String, String>,
    log: String,
}

fn run_task(task: &Value, params: &[(&str, &str)], workspaces: &[(&str, &Path)]) -> Ran {
    run_task_with(task, params, workspaces, None)
}

/// [`run_task`], with the programs in `bin` first on PATH.
fn run_task_with(
    task: &Value,
    params: &[(&str, &str)],
    workspaces: &[(&str, &Path)],
    bin: Option<&Path>,
) -> Ran {
    let spec = &task["spec"];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut substitutions: Vec<(String, String)> = Vec::new();
    for param in list(&spec["params"]) {
        let name = param["name"].as_str().expect("param name");
        let value = params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| param["default"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("param `{name}` has no value"));
        substitutions.push((format!("$(params.{name})"), value));
    }
    let declared = names(&spec["params"]);
    if let Some((unknown, _)) = params.iter().find(|(n, _)| !declared.contains(*n)) {
        panic!("the Task has no param `{unknown}`");
    }
    for workspace in list(&spec["workspaces"]) {
        let name = workspace["name"].as_str().expect("workspace name");
        let path = workspaces.iter().find(|(n, _)| *n == name).map(|(_, p)| p);
        assert!(
            path.is_some() || workspace["optional"] == true,
            "workspace `{name}` is required"
        );
        let shown = path.map(|p| p.to_str().expect("utf-8 path").to_owned());
        substitutions.push((
            format!("$(workspaces.{name}.path)"),
            shown.unwrap_or_default(),
        ));
        substitutions.push((
            format!("$(workspaces.{name}.bound)"),
            path.is_some().to_string(),
        ));
    }
    let results_dir = dir.path().join("results");
    std::fs::create_dir(&results_dir).expect("mkdir results");
    for result in list(&spec["results"]) {
        let name = result["name"].as_str().expect("result name");
        let path = results_dir.join(name);
        substitutions.push((
            format!("$(results.{name}.path)"),
            path.to_str().expect("utf-8 path").to_owned(),
        ));
    }
    let substitute = |text: &str| {
        substitutions
            .iter()
            .fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
    };

    let path = format!(
        "{}{}:{}",
        bin.map(|b| format!("{}:", b.display())).unwrap_or_default(),
        Path::new(env!("CARGO_BIN_EXE_opsmith"))
            .parent()
            .expect("bin dir")
            .display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("mkdir home");
    let mut log = String::new();
    let mut status = Some(0);
    for (index, step) in list(&spec["steps"]).iter().enumerate() {
        // Each volume, mounted where the step says.
        let mut mounts = Vec::new();
        for mount in list(&step["volumeMounts"]) {
            let volume = dir
                .path()
                .join("volumes")
                .join(mount["name"].as_str().expect("volume"));
            std::fs::create_dir_all(&volume).expect("mkdir volume");
            mounts.push((
                mount["mountPath"].as_str().expect("mountPath").to_owned(),
                volume,
            ));
        }
        let mount = |value: String| {
            mounts
                .iter()
                .fold(value, |v, (at, volume)| match v.strip_prefix(at.as_str()) {
                    Some(rest) => format!("{}{rest}", volume.display()),
                    None => v,
                })
        };
        let script = dir.path().join(format!("step-{index}"));
        std::fs::write(
            &script,
            substitute(step["script"].as_str().expect("script")),
        )
        .expect("write script");
        let mut cmd = Command::new("sh");
        cmd.arg(&script)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &home)
            // The plugin cache the other tests share (support::opsmith).
            .env(
                "OPSMITH_CACHE_DIR",
                root().join("target").join("test-cache"),
            );
        for var in list(&step["env"]) {
            let name = var["name"].as_str().expect("env name");
            cmd.env(
                name,
                mount(substitute(var["value"].as_str().expect("env value"))),
            );
        }
        if let Some(working_dir) = step["workingDir"].as_str() {
            cmd.current_dir(mount(substitute(working_dir)));
        }
        let out = cmd.output().expect("run step");
        log.push_str(&String::from_utf8_lossy(&out.stdout));
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        status = out.status.code();
        if status != Some(0) {
            break;
        }
    }
    let results = list(&spec["results"])
        .iter()
        .filter_map(|r| {
            let name = r["name"].as_str()?;
            let value = std::fs::read_to_string(results_dir.join(name)).ok()?;
            Some((name.to_owned(), value))
        })
        .collect();
    Ran {
        status,
        results,
        log,
    }
}

/// `git` in `dir`, with a fixed identity and no user configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Site Dev",
            "-c",
            "user.email=dev@example.org",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A site repository (the reference site on `main`) and a bare manifests
/// repository whose `main` holds the tree that site renders.
struct Repos {
    dir: tempfile::TempDir,
}

impl Repos {
    fn new() -> Repos {
        let dir = tempfile::tempdir().expect("tempdir");
        let site = dir.path().join("site-src");
        crate::support::copy_site(&site.join("site"));
        git(&site, &["init", "--quiet", "--initial-branch", "main"]);
        git(&site, &["add", "."]);
        git(&site, &["commit", "--quiet", "-m", "the site"]);
        git(dir.path(), &["init", "--quiet", "--bare", "manifests.git"]);
        let out = opsmith()
            .current_dir(dir.path())
            .args([
                "commit",
                "--site",
                "site-src/site",
                "--repo",
                "manifests.git",
            ])
            .args(["--branch", "main", "--author", "Site Bot <bot@example.org>"])
            .output()
            .expect("run opsmith");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        Repos { dir }
    }

    fn site(&self) -> PathBuf {
        self.dir.path().join("site-src")
    }

    fn manifests(&self) -> PathBuf {
        self.dir.path().join("manifests.git")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Commits `to` in place of `from` in the site's inventory, on the
    /// branch checked out; returns the commit.
    fn change_inventory(&self, from: &str, to: &str) -> String {
        let file = self.site().join("site/inventory.yaml");
        let text = std::fs::read_to_string(&file).expect("read inventory");
        assert!(text.contains(from), "no `{from}` in the inventory");
        std::fs::write(&file, text.replacen(from, to, 1)).expect("write inventory");
        git(
            &self.site(),
            &["commit", "--quiet", "-am", "change the inventory"],
        );
        git(&self.site(), &["rev-parse", "HEAD"])
    }

    fn manifests_tip(&self) -> String {
        git(&self.manifests(), &["rev-parse", "refs/heads/main"])
    }
}

#[test]
fn tekton_presubmit_checks_a_pull_request_merged_into_its_base() {
    let repos = Repos::new();
    let site = repos.site();
    // A pull request changes the inventory; meanwhile main moves on.
    git(&site, &["checkout", "--quiet", "-b", "change"]);
    let head = repos.change_inventory(
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    git(&site, &["checkout", "--quiet", "main"]);
    std::fs::write(site.join("README.md"), "The site.\n").expect("write");
    git(&site, &["add", "README.md"]);
    git(&site, &["commit", "--quiet", "-m", "a readme"]);
    let base = git(&site, &["rev-parse", "HEAD"]);

    let work = repos.path("work");
    std::fs::create_dir(&work).expect("mkdir");
    let url = file_url(&site);
    let checkout = |revision: &str, merge_into: &str| {
        let ran = run_task(
            &task("opsmith-checkout"),
            &[
                ("url", &url),
                ("revision", revision),
                ("merge-into", merge_into),
                ("subdirectory", "site-repo"),
            ],
            &[("source", &work)],
        );
        assert_eq!(ran.status, Some(0), "{}", ran.log);
        ran.results["commit"].clone()
    };
    let merged = checkout(&head, "main");
    let checked_out = work.join("site-repo");
    assert_eq!(git(&checked_out, &["rev-parse", "HEAD"]), merged);
    assert_eq!(
        git(&checked_out, &["rev-parse", "HEAD^1", "HEAD^2"]),
        format!("{base}\n{head}"),
        "the pull request merged into main"
    );
    assert!(checked_out.join("README.md").exists());

    let manifests_url = file_url(&repos.manifests());
    let report = repos.path("report");
    std::fs::create_dir(&report).expect("mkdir");
    let check = |workspaces: &[(&str, &Path)], branch: &str| {
        run_task(
            &task("opsmith-check"),
            &[
                ("manifests-url", &manifests_url),
                ("manifests-branch", branch),
                ("subdirectory", "site-repo"),
            ],
            workspaces,
        )
    };

    // The pull request changes the tree: shown, and the step passes.
    let ran = check(&[("source", &work), ("report", &report)], "main");
    assert_eq!(ran.status, Some(0), "{}", ran.log);
    assert_eq!(ran.results["exit-code"], "1", "{}", ran.log);
    assert_eq!(ran.results["differs"], "true");
    // The step logs mix git's output (its wording and version) with
    // opsmith's, so they are searched, not pinned; opsmith's reports are.
    assert!(
        ran.log
            .contains("+    disableCertificateVerification: false"),
        "{}",
        ran.log
    );
    let junit = std::fs::read_to_string(report.join("junit_opsmith.xml")).expect("junit");
    insta::assert_snapshot!("presubmit_junit", junit);
    let comment = std::fs::read_to_string(report.join("comment.md")).expect("comment");
    insta::assert_snapshot!("presubmit_comment", comment);

    // main alone renders what is committed.
    checkout("main", "");
    assert_eq!(git(&checked_out, &["rev-parse", "HEAD"]), base);
    let ran = check(&[("source", &work)], "main");
    assert_eq!(ran.status, Some(0), "{}", ran.log);
    assert_eq!(ran.results["exit-code"], "0", "{}", ran.log);
    assert_eq!(ran.results["differs"], "false");

    // Invalid input fails the step, pointing at the file.
    std::fs::write(checked_out.join("site/inventory.yaml"), "kind: [\n").expect("write");
    let ran = check(&[("source", &work)], "main");
    assert_eq!(ran.status, Some(2), "{}", ran.log);
    assert_eq!(ran.results["exit-code"], "2");
    assert_eq!(ran.results["differs"], "false");
    assert!(ran.log.contains("site/inventory.yaml:"), "{}", ran.log);

    // So does a manifests branch that is not there.
    checkout("main", "");
    let ran = check(&[("source", &work)], "no-such-branch");
    assert_eq!(ran.status, Some(2), "{}", ran.log);
    assert!(
        ran.log
            .contains("error: cannot fetch branch no-such-branch of file://"),
        "{}",
        ran.log
    );

    // A pull request that does not merge cleanly fails the checkout.
    git(&site, &["checkout", "--quiet", "-b", "conflict", &base]);
    std::fs::write(site.join("README.md"), "Another site.\n").expect("write");
    git(&site, &["commit", "--quiet", "-am", "another readme"]);
    let conflict = git(&site, &["rev-parse", "HEAD"]);
    git(&site, &["checkout", "--quiet", "main"]);
    std::fs::write(site.join("README.md"), "The site, again.\n").expect("write");
    git(&site, &["commit", "--quiet", "-am", "readme again"]);
    let ran = run_task(
        &task("opsmith-checkout"),
        &[
            ("url", &url),
            ("revision", &conflict),
            ("merge-into", "main"),
            ("subdirectory", "site-repo"),
        ],
        &[("source", &work)],
    );
    assert_eq!(ran.status, Some(1), "{}", ran.log);
    assert!(
        ran.log.contains("does not merge cleanly into main"),
        "{}",
        ran.log
    );
}

/// The postsubmit's first Task: the site repository's `main` checked out
/// into a `work` folder, beside a `token` folder holding a token file (a
/// file remote takes no token; the commit Task still reads one).
fn postsubmit_checkout(repos: &Repos) -> (PathBuf, PathBuf, Ran) {
    let work = repos.path("work");
    let token = repos.path("token");
    for dir in [&work, &token] {
        std::fs::create_dir(dir).expect("mkdir");
    }
    std::fs::write(token.join("token"), "unused-by-file-remotes").expect("write");
    let checkout = run_task(
        &task("opsmith-checkout"),
        &[
            ("url", &file_url(&repos.site())),
            ("revision", "main"),
            ("subdirectory", "site-repo"),
        ],
        &[("source", &work)],
    );
    assert_eq!(checkout.status, Some(0), "{}", checkout.log);
    (work, token, checkout)
}

#[test]
fn tekton_postsubmit_commits_and_pushes_once() {
    let repos = Repos::new();
    let before = repos.manifests_tip();
    let merged = repos.change_inventory(
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    let (work, token, checkout) = postsubmit_checkout(&repos);
    assert_eq!(checkout.results["commit"], merged);

    let manifests_url = file_url(&repos.manifests());
    let commit = || {
        run_task(
            &task("opsmith-commit"),
            &[
                ("manifests-url", &manifests_url),
                ("subdirectory", "site-repo"),
            ],
            &[("source", &work), ("manifests-token", &token)],
        )
    };
    let ran = commit();
    assert_eq!(ran.status, Some(0), "{}", ran.log);
    let tip = repos.manifests_tip();
    assert_ne!(tip, before, "{}", ran.log);
    assert_eq!(ran.results["commit"], tip);
    assert_eq!(git(&repos.manifests(), &["rev-parse", "main^"]), before);
    let message = git(
        &repos.manifests(),
        &["log", "-1", "--format=%an <%ae>%n%B", "main"],
    );
    // The author, and the trailers: the source commit is the merged one.
    let shown = message
        .replace(&merged, "[MERGED COMMIT]")
        .replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    insta::assert_snapshot!(crate::support::mask(&shown, &[]));

    // Nothing changed since: no commit, and the step passes.
    let ran = commit();
    assert_eq!(ran.status, Some(0), "{}", ran.log);
    assert_eq!(repos.manifests_tip(), tip);
    assert_eq!(ran.results["commit"], tip);
}

/// Another site's postsubmit pushes to the same branch between this one's
/// fetch and its push: the push is refused, and the Task commits again on
/// top of theirs, keeping both.
#[test]
fn tekton_postsubmit_commits_again_when_the_branch_moved_on() {
    let repos = Repos::new();
    let before = repos.manifests_tip();
    repos.change_inventory(
        "disableCertificateVerification: true",
        "disableCertificateVerification: false",
    );
    let (work, token, _) = postsubmit_checkout(&repos);
    let bin = repos.path("bin");
    std::fs::create_dir(&bin).expect("mkdir");

    // An `opsmith` that, the first time it runs, lets the other site commit
    // its own folder to the manifests repository first.
    let other = repos.path("other");
    let wrapper = bin.join("opsmith");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n\
             if [ ! -e '{mark}' ]; then\n\
               : > '{mark}'\n\
               '{real}' commit --site '{site}' --repo '{upstream}' --branch main \
                 --path clusters/other --author 'Other Site <other@example.org>' || exit 99\n\
             fi\n\
             exec '{real}' \"$@\"\n",
            mark = other.display(),
            real = env!("CARGO_BIN_EXE_opsmith"),
            site = root().join("site").display(),
            upstream = repos.manifests().display(),
        ),
    )
    .expect("write wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let ran = run_task_with(
        &task("opsmith-commit"),
        &[
            ("manifests-url", &file_url(&repos.manifests())),
            ("subdirectory", "site-repo"),
        ],
        &[("source", &work), ("manifests-token", &token)],
        Some(&bin),
    );
    assert_eq!(ran.status, Some(0), "{}", ran.log);
    assert!(other.exists(), "the wrapper did not run");
    // A line of a log that holds git's output too.
    assert!(
        ran.log
            .contains("main moved on; committing again on top (attempt 1)"),
        "{}",
        ran.log
    );
    let history = git(
        &repos.manifests(),
        &["log", "--format=%an", &format!("{before}..main")],
    );
    assert_eq!(history, "opsmith\nOther Site", "ours on top of theirs");
    let files = git(
        &repos.manifests(),
        &["ls-tree", "--name-only", "main", "clusters/"],
    );
    assert_eq!(files, "clusters/infra\nclusters/other");
    assert_eq!(ran.results["commit"], repos.manifests_tip());
}
