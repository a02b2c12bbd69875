use super::*;
use opsmith_plugin_sdk::json;
use opsmith_plugin_sdk::testing::{EXAMPLE_SITE, catalog_with, render_with_files};

/// What opsmith fills in as the component's `emits` from this `allow:`.
fn allowed() -> Value {
    json!([
        {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": ["*"]},
        {"apiVersion": "v1", "kind": "Namespace"},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "namespaces": ["apps"]},
    ])
}

/// Renders component `own` of the example site with these files.
fn render_own(config: Value, emits: Value, files: &[(&str, &str)]) -> Result<Output, Error> {
    let catalog = catalog_with(vec![json!({
        "name": "own",
        "plugin": "builtin:templates",
        "config": config,
        "emits": emits,
    })]);
    render_with_files::<Templates>("own", EXAMPLE_SITE, &catalog, &config.to_string(), files)
}

fn render(files: &[(&str, &str)]) -> Result<Output, Error> {
    render_own(json!({}), allowed(), files)
}

fn render_err(files: &[(&str, &str)]) -> Error {
    match render(files) {
        Ok(out) => panic!("rendered {:?}", out.objects()),
        Err(e) => e,
    }
}

const EVERYTHING: &str = r#"{% set net = site.spec.network %}
{% set chrony %}
{% for server in site.spec.ntpServers %}
server {{ server }} iburst
{% endfor %}
{% endset %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ site.metadata.name }}-network
  namespace: {{ values.namespace }}
  labels:
    {{ values.labels | to_yaml | indent(4) }}
data:
  component: {{ component.name | quote }}
  path: {{ component.path | quote }}
  repo: {{ catalog.spec.gitops.repoURL | quote }}
  openshift: {{ site.spec.openshift.version | quote }}
  gateway: {{ cidr_host(net.machineNetwork, 1) }}
  last: {{ net.machineNetwork | cidr_host(-2) }}
  prefix: {{ cidr_prefix(net.machineNetwork) | quote }}
  netmask: {{ net.clusterNetwork | cidr_netmask }}
  v6: {{ cidr_host("fd00:10::/64", 5) | quote }}
  ntp.json: {{ site.spec.ntpServers | to_json | quote }}
  hosts: {{ site.spec.hosts | map(attribute="name") | join(",") }}
  replicas: {{ config.values.replicas | quote }}
  odd: {{ values.odd | quote }}
  chrony.conf: {{ chrony | b64encode }}
  settings.yaml: |
    {{ values.settings | to_yaml | indent(4) }}
  settings.json: {{ values.settings | to_json | quote }}
{% for host in site.spec.hosts %}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ host.name }}
  namespace: hosts
data:
  address: {{ cidr_host(net.machineNetwork, 10 + loop.index0) }}
  role: {{ host.role }}
{% endfor %}
"#;

#[test]
fn a_template_sees_the_inputs_and_every_filter() {
    let config = json!({"values": {
        "namespace": "monitoring",
        "labels": {"team": "sre", "app.kubernetes.io/part-of": "site"},
        "replicas": 3,
        "odd": "yes: \"no\"\n",
        "settings": {"retention": "15d", "targets": ["a", "b"], "empty": {}},
    }});
    let out = render_own(
        config,
        allowed(),
        &[("templates/network.yaml.j2", EVERYTHING)],
    )
    .unwrap();
    assert_eq!(
        out.objects(),
        [
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "example-network",
                    "namespace": "monitoring",
                    "labels": {"team": "sre", "app.kubernetes.io/part-of": "site"},
                },
                "data": {
                    "component": "own",
                    "path": "clusters/example/own",
                    "repo": "https://git.example.org/example/manifests.git",
                    "openshift": "4.16",
                    "gateway": "192.0.2.1",
                    "last": "192.0.2.254",
                    "prefix": "24",
                    "netmask": "255.252.0.0",
                    "v6": "fd00:10::5",
                    "ntp.json": "[\"192.0.2.1\"]",
                    "hosts": "example-cp-0,example-worker-0",
                    "replicas": "3",
                    "odd": "yes: \"no\"\n",
                    "chrony.conf": "c2VydmVyIDE5Mi4wLjIuMSBpYnVyc3QK",
                    "settings.yaml": "empty: {}\nretention: 15d\ntargets:\n- a\n- b\n",
                    "settings.json": "{\"empty\":{},\"retention\":\"15d\",\"targets\":[\"a\",\"b\"]}",
                },
            }),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "example-cp-0", "namespace": "hosts"},
                "data": {"address": "192.0.2.10", "role": "control-plane"},
            }),
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "example-worker-0", "namespace": "hosts"},
                "data": {"address": "192.0.2.11", "role": "worker"},
            }),
        ]
    );
}

#[test]
fn plain_manifests_pass_through_document_by_document_in_file_order() {
    let namespaces = "# the site's namespaces\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n---\n---\n# nothing\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: tools, labels: {on: yes}}\n";
    let policy = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: apps\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n";
    let out = render(&[
        ("manifests/namespaces.yaml", namespaces),
        ("manifests/policy.yml", policy),
        (
            "manifests/z.yaml.j2",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: z}\n",
        ),
    ])
    .unwrap();
    assert_eq!(
        out.objects(),
        [
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tools", "labels": {"on": "yes"}}}),
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", "namespace": "apps"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            }),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "z"}}),
        ]
    );
    // A plain file is not a template: braces are its own text.
    let out = render(&[(
        "m.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\ndata: {t: '{{ x }}'}\n",
    )])
    .unwrap();
    assert_eq!(out.objects()[0]["data"]["t"], "{{ x }}");
    assert!(render(&[]).unwrap().objects().is_empty());
}

#[test]
fn an_undefined_variable_is_an_error_at_its_place() {
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.nmae }}\n";
    assert_eq!(
        render_err(&[("templates/cm.yaml.j2", template)]),
        Error::in_file(
            "templates/cm.yaml.j2",
            4,
            12,
            "undefined value: `values.nmae` is undefined"
        )
    );
    // Also where the lenient default would print nothing or loop zero times.
    assert_eq!(
        render_err(&[("a.j2", "{% for h in site.spec.hsots %}{% endfor %}")]),
        Error::in_file(
            "a.j2",
            1,
            17,
            "undefined value: `site.spec.hsots` is undefined"
        )
    );
    assert_eq!(
        render_err(&[("a.j2", "x: 1\n  {% if nope %}{% endif %}\n")]),
        Error::in_file("a.j2", 2, 9, "undefined value: `nope` is undefined")
    );
}

#[test]
fn a_syntax_error_is_an_error_at_its_place() {
    assert_eq!(
        render_err(&[("t/a.yaml.j2", "kind: A\ndata:\n  é: {{ site.name }\n")]),
        Error::in_file(
            "t/a.yaml.j2",
            3,
            19,
            "syntax error: unexpected `}`, expected end of variable block"
        )
    );
    assert_eq!(
        render_err(&[("a.j2", "{% for x in [1] %}\n{{ x }}\n")]),
        Error::in_file(
            "a.j2",
            2,
            8,
            "syntax error: unexpected end of input, expected end of block"
        )
    );
}

#[test]
fn a_filter_error_is_an_error_at_its_place() {
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\ndata:\n  vip: {{ cidr_host(site.spec.network.machineNetwork, 256) }}\n  x: {{ 5 | b64encode }}\n";
    assert_eq!(
        render_err(&[("cm.yaml.j2", template)]),
        Error::in_file(
            "cm.yaml.j2",
            5,
            11,
            "invalid operation: address 256 is outside 192.0.2.0/24, which has 256 addresses: 0 is the first, -1 the last"
        )
    );
    assert_eq!(
        render_err(&[("a.j2", "x: {{ 'x' | cidr_netmask }}")]),
        Error::in_file(
            "a.j2",
            1,
            13,
            "invalid operation: \"x\" is not a network in CIDR notation, such as 10.10.0.0/24 or fd00::/64"
        )
    );
    assert_eq!(
        render_err(&[("a.j2", "x: {{ [1] | quote }}")]),
        Error::in_file(
            "a.j2",
            1,
            13,
            "invalid operation: quote expects a string, number or boolean, not a list"
        )
    );
}

#[test]
fn templates_include_and_import_other_files_by_their_site_path() {
    let macros = "{% macro labels(app) %}\napp.kubernetes.io/name: {{ app }}\napp.kubernetes.io/managed-by: opsmith\n{% endmacro %}\n";
    let metadata = "  name: {{ name }}\n  namespace: {{ values.namespace }}\n";
    let template = r#"{% import "templates/_macros.j2" as m %}
{% for name in ["a", "b"] %}
---
apiVersion: v1
kind: ConfigMap
metadata:
{% include "templates/_metadata.j2" %}
  labels:
    {{ m.labels(name) | indent(4) }}
{% endfor %}
"#;
    let files = [
        ("templates/_macros.j2", macros),
        ("templates/_metadata.j2", metadata),
        ("templates/apps.yaml.j2", template),
    ];
    let out = render_own(json!({"values": {"namespace": "apps"}}), allowed(), &files).unwrap();
    let object = |name: &str| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": "apps",
                "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "opsmith"},
            },
        })
    };
    assert_eq!(out.objects(), [object("a"), object("b")]);

    // An error in the included file is placed there.
    let err = render_own(json!({}), allowed(), &files).unwrap_err();
    assert_eq!(
        err,
        Error::in_file(
            "templates/_metadata.j2",
            2,
            17,
            "undefined value: `values.namespace` is undefined (included from templates/apps.yaml.j2:7)"
        )
    );
    // Only the component's files can be included.
    assert_eq!(
        render_err(&[("a.j2", "{% include 'templates/_nope.j2' %}")]),
        Error::in_file(
            "a.j2",
            1,
            4,
            "template not found: tried to include non-existing template 'templates/_nope.j2'; \
             templates include the component's files by their path in the site folder, such as \
             `templates/_labels.j2`, and only files the catalog lists in `files:`"
        )
    );
    // A partial is checked even when nothing includes it.
    assert_eq!(
        render_err(&[("_broken.j2", "{% if %}")]),
        Error::in_file("_broken.j2", 1, 7, "syntax error: unexpected end of block")
    );
}

#[test]
fn a_file_that_is_neither_template_nor_manifest_is_refused() {
    assert_eq!(
        render_err(&[
            ("templates/a.yaml", "kind: A\n"),
            ("templates/chrony.conf", "server 192.0.2.1\n")
        ]),
        Error::in_file(
            "templates/chrony.conf",
            1,
            1,
            "builtin:templates renders templates (`*.j2`) and passes YAML manifests (`*.yaml`, \
             `*.yml`) through; a file that templates include is named with a leading `_`, such \
             as `templates/_chrony.conf`"
        )
    );
    // Named as a partial, it is a text templates include.
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: chrony, namespace: b}\ndata:\n  conf: {% filter b64encode %}{% include 'templates/_chrony.conf' %}{% endfilter %}\n";
    let out = render(&[
        (
            "templates/_chrony.conf",
            "pool {{ site.spec.ntpServers[0] }} iburst\n",
        ),
        ("templates/chrony.yaml.j2", template),
    ])
    .unwrap();
    // "pool 192.0.2.1 iburst\n": a file keeps its final newline.
    assert_eq!(
        out.objects()[0]["data"]["conf"],
        "cG9vbCAxOTIuMC4yLjEgaWJ1cnN0Cg=="
    );
}

#[test]
fn yaml_errors_point_at_the_file() {
    assert_eq!(
        render_err(&[("m.yaml", "kind: A\nmetadata:\n  name: a\n   x: 1\n")]),
        Error::in_file(
            "m.yaml",
            4,
            5,
            "mapping values are not allowed in this context"
        )
    );
    assert_eq!(
        render_err(&[("m.yaml", "---\n- a\n")]),
        Error::in_file(
            "m.yaml",
            2,
            1,
            "each YAML document must be a Kubernetes object, a mapping with `apiVersion`, `kind` and `metadata`"
        )
    );
    // In a template's output: at the template's line when that line is
    // literal text in it, else at the template, quoting the output line.
    assert_eq!(
        render_err(&[("a.j2", "kind: A\nmetadata:\n  name: a\n   x: 1\n")]),
        Error::in_file(
            "a.j2",
            4,
            5,
            "the template's output is not valid YAML: mapping values are not allowed in this context"
        )
    );
    assert_eq!(
        render_err(&[("a.j2", "kind: A\nmetadata:\n  name: {{ 'a: b' }}\n")]),
        Error::in_file(
            "a.j2",
            0,
            0,
            "the template's output is not valid YAML at its line 3, column 10 (`name: a: b`): \
             mapping values are not allowed in this context"
        )
    );
}

#[test]
fn only_allowed_kinds_are_emitted() {
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: {{ values.namespace }}\n";
    let config = json!({"values": {"namespace": "apps"}});
    assert_eq!(
        render_own(config, allowed(), &[("p.yaml.j2", template)])
            .unwrap()
            .objects()
            .len(),
        2
    );
    let config = json!({"values": {"namespace": "tools"}});
    assert_eq!(
        render_own(config, allowed(), &[("p.yaml.j2", template)]).unwrap_err(),
        Error::in_file(
            "p.yaml.j2",
            6,
            7,
            "NetworkPolicy `tools/deny` (networking.k8s.io/v1) is not in this component's `allow:` list in the catalog"
        )
    );
    // Cluster-scoped only when allowed so; the place is the output's when
    // the line came from an expression.
    assert_eq!(
        render_err(&[(
            "m.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
        )]),
        Error::in_file(
            "m.yaml",
            2,
            7,
            "ConfigMap `a` (v1, no namespace) is not in this component's `allow:` list in the catalog"
        )
    );
    assert_eq!(
        render_err(&[(
            "a.j2",
            "apiVersion: v1\nkind: {{ 'Secret' }}\nmetadata: {name: a, namespace: b}\n"
        )]),
        Error::in_file(
            "a.j2",
            0,
            0,
            "Secret `b/a` (v1) is not in this component's `allow:` list in the catalog (line 2 of the template's output)"
        )
    );
    assert_eq!(
        render_err(&[("m.yaml", "kind: ConfigMap\n")]),
        Error::in_file("m.yaml", 1, 1, "the object has no `apiVersion`")
    );
}

#[test]
fn the_catalog_must_narrow_what_the_component_emits() {
    let files = [(
        "m.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )];
    let required = Error::new(
        "builtin:templates needs the component's `allow:` list in the catalog: templates can \
         emit any kind, so the catalog names those this component may, such as \
         `allow: [{apiVersion: v1, kind: ConfigMap, namespaces: [monitoring]}]`",
    );
    // No allow list: opsmith passes on what describe declares, or nothing.
    let declared = json!([
        {"apiVersion": "*", "kind": "*", "namespaces": ["*"]},
        {"apiVersion": "*", "kind": "*"},
    ]);
    for emits in [json!([]), Value::Null, declared] {
        assert_eq!(render_own(json!({}), emits, &files).unwrap_err(), required);
    }
    let info = Templates::describe();
    assert_eq!(
        serde_json::to_value(&info.emits).unwrap(),
        json!([
            {"apiVersion": "*", "kind": "*", "namespaces": ["*"]},
            {"apiVersion": "*", "kind": "*", "namespaces": []},
        ])
    );
}

#[test]
fn config_schema_is_generated_from_config() {
    opsmith_plugin_sdk::testing::check_config_schema::<Config>(
        &schemars::schema_for!(Config).to_value(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/config.schema.json"),
    );
    let unknown = render_own(json!({"value": {}}), allowed(), &[]).unwrap_err();
    assert_eq!(unknown.pointer, "/config");
}
