//! `cargo bench --bench render`: the plugin boundary (load as the build
//! compiled it, compile, cache load, instantiate, one render per built-in),
//! the `opsmith render` process on the reference site and on generated sites
//! (first run with an empty cache, warm, peak memory), and validate + render
//! end to end in process on generated sites of 8, 1 000 and 10 000 hosts, to
//! stdout and to a tree.
//!
//! A plain `harness = false` program: it prints a table, asserts nothing.
//! `OPSMITH_BENCH_SIZES=8,1000` picks the site sizes.

#![allow(clippy::print_stdout, reason = "the benchmark prints its table")]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use opsmith::layout;
use opsmith::output::dir;
use opsmith::pipeline;
use opsmith::plugins::cache::Origin;
use opsmith::plugins::sandbox::Limits;
use opsmith::plugins::{PluginSource, Runtime, builtin};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Each run's time, and the last run's result.
fn samples<T>(runs: usize, mut f: impl FnMut() -> T) -> (Vec<Duration>, T) {
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(f());
        samples.push(started.elapsed());
    }
    (samples, last.expect("at least one run"))
}

fn time<T>(runs: usize, f: impl FnMut() -> T) -> (Duration, T) {
    let (samples, last) = samples(runs, f);
    (median(samples), last)
}

/// The median and the fastest of `runs` runs of `f`.
fn time_with_best(runs: usize, f: impl FnMut()) -> (Duration, Duration) {
    let (samples, ()) = samples(runs, f);
    let best = samples.iter().min().copied().unwrap_or_default();
    (median(samples), best)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A site of `hosts` servers: the reference catalog, an inventory whose
/// hosts differ in name, addresses and MACs.
fn generate_site(dir: &Path, hosts: usize) {
    std::fs::create_dir_all(dir).expect("site dir");
    let catalog =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("site/catalog.yaml"))
            .expect("catalog");
    std::fs::write(dir.join("catalog.yaml"), catalog).expect("write catalog");
    // The reference catalog's templates component reads site/templates/.
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("site/templates");
    std::fs::create_dir_all(dir.join("templates")).expect("templates dir");
    for entry in std::fs::read_dir(templates).expect("templates").flatten() {
        std::fs::copy(entry.path(), dir.join("templates").join(entry.file_name()))
            .expect("copy template");
    }
    let mut text = String::from(
        "apiVersion: opsmith.dev/v1alpha1\nkind: SiteInventory\nmetadata:\n  name: infra\nspec:\n  baseDomain: example.org\n  openshift: { version: \"4.16\" }\n  network:\n    machineNetwork: 10.0.0.0/14\n    clusterNetwork: 10.128.0.0/14\n    serviceNetwork: 172.30.0.0/16\n    apiVIP: 10.0.0.5\n    ingressVIP: 10.0.0.6\n  secretStore: { kind: ClusterSecretStore, name: vault }\n  hosts:\n",
    );
    for i in 0..hosts {
        let (hi, lo) = (i / 250, i % 250 + 1);
        let role = if i < 3 { "control-plane" } else { "worker" };
        let name = format!("gen-{:03}-{:02}-compute", i / 40, i % 40);
        let mac = |nic: usize| {
            format!(
                "24:6e:96:{:02x}:{:02x}:{:02x}",
                (i >> 12) & 0xff,
                (i >> 4) & 0xff,
                ((i & 0xf) << 4) | nic
            )
        };
        writeln!(
            text,
            "    - name: {name}\n      role: {role}\n      hardware: {{ model: PowerEdge R620, memory: 128Gi, storage: 300Gi }}\n      bmc:\n        address: idrac-virtualmedia://10.1.{hi}.{lo}/redfish/v1/Systems/System.Embedded.1\n        credentialsRef: bmc/{name}\n        disableCertificateVerification: true\n      bootMACAddress: \"{}\"\n      ip: 10.2.{hi}.{lo}\n      nics:\n        - {{ name: eno1, mac: \"{}\" }}\n        - {{ name: eno2, mac: \"{}\" }}\n      rootDeviceHints: {{ deviceName: /dev/sda }}",
            mac(0),
            mac(0),
            mac(1)
        )
        .expect("write");
    }
    std::fs::write(dir.join("inventory.yaml"), text).expect("write inventory");
}

fn plugin_boundary(cache: &Path) {
    println!("## The plugin boundary, per built-in plugin (median of 5)\n");
    println!(
        "| plugin | size | native code | load as built | compile | load from cache | instantiate + describe |"
    );
    println!("|---|---|---|---|---|---|---|");
    let limits = Limits::default();
    for name in builtin::names() {
        let source = PluginSource::Builtin(name.to_owned());
        let embedded = Runtime::new(limits, None).expect("runtime");
        let (as_built, plugin) = time(5, || embedded.load_uncached(&source).expect("load"));
        assert_eq!(
            plugin.origin,
            Origin::Embedded,
            "{name} was not precompiled"
        );
        let (cold, _) = time(3, || {
            let uncached = Runtime::new(limits, None)
                .expect("runtime")
                .compiling_builtins();
            uncached.load_uncached(&source).expect("compile")
        });
        let runtime = Runtime::new(limits, Some(cache.to_owned()))
            .expect("runtime")
            .compiling_builtins();
        runtime.load_uncached(&source).expect("fill the cache");
        let (warm, plugin) = time(5, || runtime.load_uncached(&source).expect("load"));
        let (call, _) = time(5, || plugin.describe(&runtime, &limits).expect("describe"));
        println!(
            "| {name} | {} KiB | {} KiB | {} | {} | {} | {} |",
            plugin.size / 1024,
            builtin::precompiled(name).map_or(0, |native| native.len()) / 1024,
            ms(as_built),
            ms(cold),
            ms(warm),
            ms(call)
        );
    }
    println!();
}

/// builtin:templates alone on 1 000 template files, each a ConfigMap that
/// uses several filters, warm: validate, read the files, render, check.
fn templates(root: &Path) {
    const FILES: usize = 1_000;
    let site = root.join("site-templates");
    generate_site(&site, 8);
    let catalog = "apiVersion: opsmith.dev/v1alpha1\nkind: AppCatalog\nmetadata:\n  name: infra\nspec:\n  gitops: { repoURL: https://git.example.org/infra.git, targetRevision: main, path: clusters/infra }\n  components:\n    - name: many\n      plugin: builtin:templates\n      files: [\"many/*.j2\"]\n      allow: [{ apiVersion: v1, kind: ConfigMap, namespaces: [bench] }]\n      config: { values: { network: 10.0.0.0/14 } }\n";
    std::fs::write(site.join("catalog.yaml"), catalog).expect("catalog");
    std::fs::create_dir_all(site.join("many")).expect("mkdir");
    for i in 0..FILES {
        let template = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: bench\ndata:\n  gateway: {{{{ cidr_host(values.network, {n}) }}}}\n  prefix: \"{{{{ values.network | cidr_prefix }}}}\"\n  hosts: {{{{ site.spec.hosts | map(attribute='name') | join(',') | quote }}}}\n  encoded: {{{{ 'config {i}' | b64encode }}}}\n  json: {{{{ {{'a': {i}}} | to_json | quote }}}}\n",
            n = i + 1
        );
        std::fs::write(site.join(format!("many/t-{i:04}.yaml.j2")), template).expect("template");
    }
    let limits = Limits::default();
    let cache = root.join("templates-cache");
    let runtime = Runtime::new(limits, Some(cache.clone())).expect("runtime");
    let tree = pipeline::render(&runtime, &site, 1).expect("render");
    let objects = tree.files.len() - 1;
    let (warm, _) = time(5, || {
        let runtime = Runtime::new(limits, Some(cache.clone())).expect("runtime");
        pipeline::render(&runtime, &site, 1).expect("render")
    });
    println!("## builtin:templates, {FILES} template files (median of 5, warm)\n");
    println!("| objects | validate + render + check, one thread |");
    println!("|---|---|");
    println!("| {objects} | {} |\n", ms(warm));
}

fn end_to_end(sizes: &[usize], root: &Path) {
    println!(
        "## validate + render end to end, warm cache unless noted (median of 5, 10 000 hosts: 3; the process: median and best of twice as many)\n"
    );
    println!(
        "| hosts | objects | bytes | first run (empty cache), stdout | warm, stdout | warm, tree | plain write loop | `opsmith render --out -` process | objects/s (stdout) | MB/s (stdout) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let limits = Limits::default();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    for &hosts in sizes {
        let site = root.join(format!("site-{hosts}"));
        generate_site(&site, hosts);
        let runs = if hosts >= 10_000 { 3 } else { 5 };
        let cold_cache = root.join(format!("cold-cache-{hosts}"));
        let started = Instant::now();
        let runtime = Runtime::new(limits, Some(cold_cache.clone())).expect("runtime");
        let tree = pipeline::render(&runtime, &site, jobs).expect("render");
        let _ = layout::stream(&tree);
        let cold = started.elapsed();
        drop(runtime);
        let warm_cache = root.join("warm-cache");
        let runtime = Runtime::new(limits, Some(warm_cache.clone())).expect("runtime");
        pipeline::render(&runtime, &site, jobs).expect("warm the cache");
        // A new host per run, as a new process has: plugins come from the
        // compile cache, not from the previous run's memory.
        let fresh_runtime = || Runtime::new(limits, Some(warm_cache.clone())).expect("runtime");
        let (stdout, stream) = time(runs, || {
            let tree = pipeline::render(&fresh_runtime(), &site, jobs).expect("render");
            layout::stream(&tree)
        });
        let out = root.join(format!("out-{hosts}"));
        let (to_tree, tree) = time(runs, || {
            let tree = pipeline::render(&fresh_runtime(), &site, jobs).expect("render");
            dir::write(&tree, &out, &site).expect("write");
            tree
        });
        // The command itself, as CI runs it: process start, every stage,
        // and exit.
        // Best of more runs too: this machine's speed drifts from one
        // minute to the next, and a median alone hides what the code can do.
        let (process, process_best) = time_with_best(runs * 2, || {
            let status = std::process::Command::new(env!("CARGO_BIN_EXE_opsmith"))
                .args(["render", "--out", "-", "--site"])
                .arg(&site)
                .env("OPSMITH_CACHE_DIR", &warm_cache)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run opsmith");
            assert!(status.success(), "opsmith render failed");
        });
        let plain = root.join(format!("plain-{hosts}"));
        let (plain_write, _) = time(runs, || {
            let _ = std::fs::remove_dir_all(&plain);
            for (path, bytes) in &tree.files {
                let dest = plain.join(path);
                std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
                std::fs::write(dest, bytes).expect("write");
            }
        });
        let objects = tree.files.keys().filter(|p| p.ends_with(".yaml")).count() - 1;
        println!(
            "| {hosts} | {objects} | {} | {} | {} | {} | {} | {} (best {}) | {:.0} | {:.1} |",
            stream.len(),
            ms(cold),
            ms(stdout),
            ms(to_tree),
            ms(plain_write),
            ms(process),
            ms(process_best),
            objects as f64 / stdout.as_secs_f64(),
            stream.len() as f64 / stdout.as_secs_f64() / 1e6,
        );
        let _ = std::fs::remove_dir_all(&cold_cache);
    }
    println!();
}

/// One `opsmith render --out -` process: its wall time and peak RSS (KiB),
/// as the process itself reports it with `--verbose` (its `VmHWM`: wait4's
/// `ru_maxrss` would count this benchmark's own memory too, which the child
/// holds until it starts opsmith).
fn render_process(site: &Path, cache: &Path, compile_builtins: bool) -> (Duration, i64) {
    let started = Instant::now();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_opsmith"));
    command
        .args(["render", "--verbose", "--out", "-", "--site"])
        .arg(site)
        .env("OPSMITH_CACHE_DIR", cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if compile_builtins {
        command.env("OPSMITH_COMPILE_BUILTINS", "1");
    }
    let output = command.output().expect("run opsmith");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "opsmith render failed: {stderr}");
    let peak_mib: f64 = stderr
        .lines()
        .find_map(|line| line.split("peak memory: ").nth(1))
        .and_then(|rest| rest.strip_suffix(" MiB"))
        .and_then(|n| n.parse().ok())
        .expect("opsmith --verbose reports its peak memory");
    (elapsed, (peak_mib * 1024.0) as i64)
}

fn mib(kib: i64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// The `opsmith render --out -` process as CI runs it, on the reference
/// site and generated sites: first run with an empty plugin cache (the
/// built-ins loaded as opsmith's build compiled them, and compiled at run
/// time as before), and warm. Median of 5 (10 000 hosts: 3), with the peak
/// RSS of the median run.
fn processes(sizes: &[usize], root: &Path) {
    println!(
        "## `opsmith render --out -`, the process (median of 5, 10 000 hosts: 3; peak RSS of that run)\n"
    );
    println!(
        "| site | first run, empty cache | peak RSS | first run, built-ins compiled at run time (as before) | peak RSS | warm, built-ins from the compile cache (as before) | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
    let mut sites = vec![("reference site".to_owned(), reference)];
    for &hosts in sizes {
        let site = root.join(format!("process-site-{hosts}"));
        generate_site(&site, hosts);
        sites.push((format!("{hosts} hosts"), site));
    }
    for (label, site) in sites {
        let runs = if label.starts_with("10000") { 3 } else { 5 };
        let measure = |compile_builtins: bool, warm: bool| {
            let cache = root.join("process-cache");
            let mut results: Vec<(Duration, i64)> = (0..runs)
                .map(|_| {
                    if !warm {
                        let _ = std::fs::remove_dir_all(&cache);
                    }
                    render_process(&site, &cache, compile_builtins)
                })
                .collect();
            let _ = std::fs::remove_dir_all(&cache);
            results.sort();
            results[results.len() / 2]
        };
        let cold = measure(false, false);
        let compiled = measure(true, false);
        // A first run fills the cache; the median of the runs is warm.
        let warm = measure(true, true);
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            ms(cold.0),
            mib(cold.1),
            ms(compiled.0),
            mib(compiled.1),
            ms(warm.0),
            mib(warm.1)
        );
    }
    println!();
}

// The allocator and settings of the `opsmith` binary, so that the in-process
// columns measure what the command does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    opsmith::tune_allocator();
    // `cargo bench` passes `--bench`; nothing else is expected.
    let sizes: Vec<usize> = std::env::var("OPSMITH_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![8, 1_000, 10_000]);
    let root = tempfile::tempdir().expect("tempdir");
    println!(
        "# opsmith benchmark ({} cores)\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    plugin_boundary(&root.path().join("boundary-cache"));
    templates(root.path());
    processes(&sizes, root.path());
    end_to_end(&sizes, root.path());
}
