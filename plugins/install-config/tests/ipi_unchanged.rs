//! `method: ipi` (the default) renders what the plugin rendered before
//! `method: agent` existed: the install-configs under tests/fixtures/ipi/
//! were written by the plugin as it was then, from the sites beside them.
//! See: #20

use opsmith_plugin_install_config::InstallConfig;
use opsmith_plugin_sdk::testing::{EXAMPLE_CATALOG, render};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/ipi/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn ipi_install_configs_are_unchanged() {
    for (case, config) in [
        ("example-site", "{}"),
        (
            "with-proxy-and-config",
            r#"{"networkType":"Cilium","fips":true}"#,
        ),
        // Naming the default changes nothing.
        ("example-site", r#"{"method":"ipi"}"#),
    ] {
        let site = fixture(&format!("{case}.site.json"));
        let out = render::<InstallConfig>("install-config", &site, EXAMPLE_CATALOG, config)
            .expect("renders");
        let files = out.files();
        assert_eq!(files.len(), 1, "{case}: one file");
        assert_eq!(files[0].name, "install-config.yaml");
        let expected: Value =
            serde_json::from_str(&fixture(&format!("{case}.install-config.json"))).expect("JSON");
        assert_eq!(files[0].content, expected, "{case} with {config}");
    }
}
