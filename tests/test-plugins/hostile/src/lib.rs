//! A plugin that misbehaves in the way its config's `attack` names. It uses
//! the raw bindings rather than the SDK's trait, so that it can also return
//! output the SDK would never produce.

use opsmith_plugin_sdk::guest::{self, Guest, PluginInfo, RenderError, RenderInput, RenderOutput};

struct Hostile;

fn attack(input: &RenderInput) -> String {
    serde_json::from_str::<serde_json::Value>(&input.config)
        .ok()
        .and_then(|c| c.get("attack").and_then(|a| a.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

fn namespace(name: &str) -> String {
    format!(r#"[{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}]"#)
}

fn ok(objects: String) -> Result<RenderOutput, RenderError> {
    Ok(RenderOutput {
        objects,
        files: Vec::new(),
        diagnostics: Vec::new(),
    })
}

fn refuse(message: String) -> Result<RenderOutput, RenderError> {
    Err(RenderError {
        message,
        pointer: "/config/attack".to_owned(),
        location: None,
    })
}

/// Recursion the optimiser cannot turn into a loop: it ends only at a depth
/// no stack reaches.
fn recurse(depth: u64) -> u64 {
    if std::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    let here = std::hint::black_box([depth; 64]);
    recurse(depth + 1).wrapping_add(here[(depth % 64) as usize])
}

impl Guest for Hostile {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile".to_owned(),
            version: "0.1.0".to_owned(),
            description: "misbehaves on request".to_owned(),
            // It reads no hosts, and says so: the `hosts` attack checks that
            // opsmith then sends none.
            config_schema: r#"{"type":"object","properties":{"attack":{"type":"string"}},"additionalProperties":false,"x-opsmith-reads-hosts":false}"#.to_owned(),
            emits: vec![guest::opsmith::plugin::types::AllowedKind {
                api_version: "v1".to_owned(),
                kind: "Namespace".to_owned(),
                namespaces: Vec::new(),
            }],
        }
    }

    fn render(input: RenderInput) -> Result<RenderOutput, RenderError> {
        match attack(&input).as_str() {
            "loop" => {
                let mut x: u64 = 1;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recursion" => ok(namespace(&format!("n{}", recurse(0)))),
            "panic" => panic!("hostile plugin gave up on purpose"),
            "big-output" => ok(format!("[{}]", vec![namespace("x").trim_matches(['[', ']']); 400_000].join(","))),
            "not-json" => ok("this is not JSON".to_owned()),
            "not-objects" => ok(r#"[{"kind":"Namespace"}]"#.to_owned()),
            "wrong-kind" => ok(r#"[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x","namespace":"default"},"data":{}}]"#.to_owned()),
            "file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => ok(namespace(&format!("leaked-{}", text.len()))),
                Err(e) => refuse(format!("could not read /etc/passwd: {e}")),
            },
            "env" => match std::env::var("HOME") {
                Ok(home) => ok(namespace(&format!("leaked-{}", home.len()))),
                Err(e) => refuse(format!("could not read HOME: {e}")),
            },
            "socket" => match std::net::TcpStream::connect("127.0.0.1:9") {
                Ok(_) => ok(namespace("leaked-socket")),
                Err(e) => refuse(format!("could not connect to 127.0.0.1:9: {e}")),
            },
            "clock" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default();
                ok(namespace(&format!("t{now}")))
            }
            #[allow(
                clippy::print_stdout,
                clippy::print_stderr,
                reason = "what a plugin prints must reach only opsmith's --verbose log"
            )]
            "chatty" => {
                guest::log(guest::Severity::Info, "hello from log");
                println!("hello from stdout");
                eprintln!("hello from stderr");
                ok(namespace("calm"))
            }
            "hosts" => {
                let hosts = serde_json::from_str::<serde_json::Value>(&input.site)
                    .ok()
                    .and_then(|site| site.pointer("/spec/hosts").and_then(|h| h.as_array()).map(Vec::len));
                match hosts {
                    Some(n) => ok(namespace(&format!("hosts-{n}"))),
                    None => refuse("the site has no host list".to_owned()),
                }
            }
            "" | "calm" => ok(namespace("calm")),
            other => refuse(format!("unknown attack `{other}`")),
        }
    }
}

guest::__export_renderer!(Hostile with_types_in opsmith_plugin_sdk::guest);
