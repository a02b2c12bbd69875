use opsmith_plugin_sdk::json;
#[test]
fn dump() {
    let Ok(dir) = std::env::var("PROW_DUMP_DIR") else {
        return;
    };
    let cfgs = [
        ("full", crate::tests::full_config_pub()),
        (
            "bare",
            json!({"orgs": ["example-org"], "presubmits": [{ "name": "lint", "repo": "example-org/infra", "spec": { "containers": [{ "image": "alpine" , "args": ["echo", "yes"]}] } }]}),
        ),
        ("ingress", {
            let mut c = crate::tests::full_config_pub();
            c["exposure"] = json!("ingress");
            c["installCRD"] = json!(true);
            c["ghproxy"] = json!({"persistentCache": false, "storageClassName": "x"});
            c["storage"]["bucket"] = json!("gs://b");
            c
        }),
    ];
    for (name, cfg) in cfgs {
        let out = crate::tests::render_with_pub(cfg).unwrap();
        let d = format!("{dir}/{name}");
        std::fs::create_dir_all(&d).unwrap();
        for (i, o) in out.objects.iter().enumerate() {
            std::fs::write(
                format!(
                    "{d}/{i:02}-{}-{}.json",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                ),
                serde_json::to_string_pretty(o).unwrap(),
            )
            .unwrap();
            if o["kind"] == "ConfigMap" {
                for (k, v) in o["data"].as_object().unwrap() {
                    std::fs::write(format!("{d}/cm-{k}"), v.as_str().unwrap()).unwrap();
                }
            }
        }
        for diag in &out.diagnostics {
            println!("{name}: {:?}", diag);
        }
    }
}
