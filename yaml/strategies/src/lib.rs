//! Generated JSON values for the property tests of opsmith's YAML loader
//! (opsmith-yaml, against serde-saphyr) and of opsmith's fast emitter
//! (against serde-saphyr's output): one generator, so that both are tested
//! on the same kinds of values.
//!
//! The values lean towards what breaks YAML readers and writers: strings
//! that read as booleans, nulls or numbers in YAML 1.1 or 1.2 (`yes`, `~`,
//! `0x1F`, `007`, `1_000`, `.inf`, `12:30:00`), strings with YAML's
//! indicators (`:`, `#`, quotes, `-`, `<<`, `&`, `*`), padding, line breaks,
//! control characters and other Unicode; keys that are mostly plain words,
//! as in Kubernetes objects, and sometimes any of those strings.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed, TestCaseResult, TestRunner};
use serde_json::{Map, Number, Value};

/// Strings every YAML reader takes for something else when written plain,
/// or that are close to one: the cases the core schema and YAML 1.1 disagree
/// on, numbers in every base, special floats, timestamps, indicators.
const TRICKY: &[&str] = &[
    "",
    " ",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "False",
    "FALSE",
    "yes",
    "Yes",
    "no",
    "No",
    "on",
    "On",
    "off",
    "OFF",
    "y",
    "Y",
    "n",
    "N",
    "0",
    "-0",
    "+0",
    "-1",
    "+1",
    "007",
    "-007",
    "08",
    "0x1F",
    "0X1F",
    "0x1f",
    "-0x1F",
    "0o17",
    "0O17",
    "0b101",
    "0x",
    "0o8",
    "1_000",
    "1__0",
    "_1",
    "1_",
    "1e3",
    "1E3",
    "1e+3",
    "1.0e+3",
    "1e999",
    "-1e999",
    "1e-999",
    "1.5",
    "-1.5",
    ".5",
    "+.5",
    "1.",
    "01.5",
    "0.0",
    "-0.0",
    "1.5_0",
    "1e",
    ".e3",
    "1.2.3",
    "10.10.0.5",
    "10.10.0.0/24",
    "12:30:00",
    "1:30",
    "190:20:30",
    "52:54:00:00:00:10",
    "24:6e:96:03:05:a1",
    "2026-11-26",
    "2001-12-14t21:59:43.10-05:00",
    "1,000",
    "300Gi",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "0xffffffffffffffff",
    "0xffffffffffffffffff",
    ".inf",
    ".Inf",
    "+.inf",
    "-.inf",
    ".nan",
    ".NaN",
    "-.nan",
    "+.NaN",
    "inf",
    "-inf",
    "nan",
    "infinity",
    "<<",
    "=",
    "-",
    "--",
    "---",
    "...",
    "- x",
    "?",
    "? x",
    ":",
    "a:",
    "a: b",
    "a:b",
    "::1",
    "#",
    "a #b",
    "a#b",
    " lead",
    "trail ",
    "  both  ",
    "'",
    "''",
    "'q'",
    "\"",
    "\"dq\"",
    "it's",
    "&a",
    "*a",
    "a&b",
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    "[a]",
    "{a: 1}",
    "a, b",
    "a,b",
    "\\",
    "\\n",
    "\t",
    "a\tb",
    "\n",
    "a\n",
    "a\nb",
    "a\n\nb",
    "a\n\n",
    "\na",
    " a\nb",
    "a \nb",
    "a\r\nb",
    "\r",
    "é",
    "日本語",
    "🦀",
    "naïve café",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{feff}",
    "\u{7f}",
    "\u{0}",
    "\u{1b}[0m",
    "/dev/sda",
    "redfish://10.0.0.1/x",
    "v1",
    "openshift-machine-api",
    "a.b",
    "a/b",
    "a-",
    "a_",
    "x..y",
];

/// Words in the shape of Kubernetes names and keys, some of which the
/// canonical layout orders first.
const WORDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "status",
    "data",
    "items",
    "role",
    "address",
    "mac",
    "worker",
    "control-plane",
    "eno1",
    "rack",
    "r1",
    "image",
    "quay.io/x/y",
    "v1",
    "a",
    "b",
    "c",
    "z",
    "x1",
    "a.b",
    "a/b",
    "a_b",
    "k-8",
];

/// Characters random strings are made of: letters and digits, YAML's
/// indicators, blanks, line breaks, a control character and other Unicode.
const CHARS: &[char] = &[
    'a', 'Z', 'y', 'n', 'e', 'E', 'x', '0', '1', '9', '-', '+', '_', '.', '/', ':', '#', '\'', '"',
    ' ', '~', '!', '&', '*', '?', '|', '>', '<', '%', '@', '`', ',', '[', ']', '{', '}', '\\',
    '\t', '\n', '\r', 'é', 'ß', '日', '🦀', '\u{85}', '\u{a0}', '\u{2028}', '\u{1}',
];

/// A plain word in the shape of a Kubernetes key or name.
pub fn word() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => select(WORDS).prop_map(str::to_owned),
        2 => (
            select(&['a', 'b', 'h', 'k', 'm', 'Q', 'z'][..]),
            proptest::collection::vec(select(&['a', 'e', 'x', '0', '7', '-', '_', '.'][..]), 0..8),
        )
            .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect()),
    ]
}

/// Any string, most of them hard to write or read.
pub fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => word(),
        4 => select(TRICKY).prop_map(str::to_owned),
        3 => proptest::collection::vec(select(CHARS), 0..10)
            .prop_map(|chars| chars.into_iter().collect()),
        // A tricky string with something around it.
        2 => (select(TRICKY), select(TRICKY), select(&["", " ", "-", ":", "\n", "x"][..]))
            .prop_map(|(a, b, between)| format!("{a}{between}{b}")),
        1 => proptest::collection::vec(any::<char>(), 0..6)
            .prop_map(|chars| chars.into_iter().collect()),
        // Long enough for a writer to fold it.
        1 => (select(WORDS), 8..30_usize).prop_map(|(w, n)| vec![w; n].join(" ")),
    ]
}

/// A mapping key: mostly a plain word, as in Kubernetes objects.
pub fn key() -> impl Strategy<Value = String> + Clone {
    prop_oneof![5 => word(), 2 => text()]
}

/// A finite float (JSON has no other), with the awkward ones often.
pub fn float() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        select(
            &[
                0.0,
                -0.0,
                0.5,
                1.5,
                -2.25,
                100.0,
                1e300,
                -1e300,
                1e-300,
                2.5e-8,
                1e15,
                1e16,
                1e21,
                123_456.789,
                f64::MAX,
                f64::MIN_POSITIVE,
                f64::EPSILON,
            ][..]
        ),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (-1000..1000_i32).prop_map(|i| f64::from(i) / 8.0),
    ]
}

/// A scalar: null, a boolean, an integer, a float or a string.
pub fn scalar() -> impl Strategy<Value = Value> + Clone {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => (-1000..1000_i64).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        2 => float().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        8 => text().prop_map(Value::String),
    ]
}

/// Any value: scalars, and mappings and lists nested a few levels.
pub fn value() -> impl Strategy<Value = Value> + Clone {
    scalar().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            entries(inner, 0..6),
        ]
    })
}

/// A mapping at the top, as opsmith's inputs and objects are.
pub fn object() -> impl Strategy<Value = Value> + Clone {
    entries(value(), 0..7)
}

/// A mapping of entries from `values`; of two equal keys the last wins.
fn entries(
    values: impl Strategy<Value = Value> + Clone,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Value> + Clone {
    proptest::collection::vec((key(), values), len)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<String, Value>>()))
}

/// Runs `test` on `cases` inputs from `strategy`, and panics with the
/// smallest failing input found. The inputs are the same on every run, so
/// that CI fails for a change, not by chance: `PROPTEST_RNG_SEED` (another
/// seed) and `PROPTEST_CASES` (more cases) explore further. Failures are
/// not saved to files in the sources.
pub fn check<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S::Value: std::fmt::Debug,
{
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x006f_7073_6d69_7468);
    }
    if let Err(failure) = TestRunner::new(config).run(&strategy, test) {
        panic!("{failure}");
    }
}
