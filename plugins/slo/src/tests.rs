use super::*;
use opsmith_plugin_sdk::testing::{EXAMPLE_SITE, catalog_with, render};

fn render_config(config: Value) -> Result<Output, Error> {
    let catalog = catalog_with(vec![json!({ "name": "slo", "plugin": "builtin:slo", "config": config })]);
    render::<Slo>("slo", EXAMPLE_SITE, &catalog, &config.to_string())
}

#[test]
fn smoke() {
    let out = render_config(json!({"services": [{"service": "prow", "evaluation": "user-workload", "namespace": "prow", "slos": [{"preset": "prow-hook", "objective": 99.5}]}]})).unwrap();
    println!("{}", serde_json::to_string_pretty(&out.objects()).unwrap());
}
