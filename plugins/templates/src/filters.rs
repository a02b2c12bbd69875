//! The filters and functions templates get beyond minijinja's built-ins:
//! writing values as YAML or JSON inside a manifest, base64, quoting, and
//! the address arithmetic of a site's networks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

/// Registers every filter, and the CIDR helpers also as functions:
/// `cidr_host("10.10.0.0/24", 5)` reads as well as
/// `"10.10.0.0/24" | cidr_host(5)`.
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_json", to_json);
    env.add_filter("b64encode", b64encode);
    env.add_filter("quote", quote);
    env.add_filter("cidr_host", cidr_host);
    env.add_filter("cidr_prefix", cidr_prefix);
    env.add_filter("cidr_netmask", cidr_netmask);
    env.add_function("cidr_host", cidr_host);
    env.add_function("cidr_prefix", cidr_prefix);
    env.add_function("cidr_netmask", cidr_netmask);
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// A value as block YAML without the final newline, so that
/// `{{ labels | to_yaml | indent(4) }}` nests it under a key.
fn to_yaml(value: &Value) -> Result<String, Error> {
    let mut text = serde_saphyr::to_string(value)
        .map_err(|e| invalid(format!("to_yaml cannot write this value: {e}")))?;
    let kept = text.trim_end_matches('\n').len();
    text.truncate(kept);
    Ok(text)
}

/// A value as compact JSON on one line, which is also a YAML flow value:
/// `args: {{ args | to_json }}`.
fn to_json(value: &Value) -> Result<String, Error> {
    serde_json::to_string(value)
        .map_err(|e| invalid(format!("to_json cannot write this value: {e}")))
}

/// Standard base64 (with padding) of a string's UTF-8 bytes, as a Secret's
/// `data` or a MachineConfig's `data:` URL wants it.
fn b64encode(value: &Value) -> Result<String, Error> {
    let bytes = match (value.as_str(), value.as_bytes()) {
        (Some(text), _) => text.as_bytes(),
        (None, Some(bytes)) => bytes,
        (None, None) => {
            return Err(invalid(format!(
                "b64encode expects a string, not {}",
                kind_name(value)
            )));
        }
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A string, number or boolean as a double-quoted scalar that YAML and JSON
/// read back as the same string: `version: {{ "4.16" | quote }}` stays a
/// string where a bare `4.16` would be a number.
fn quote(value: &Value) -> Result<String, Error> {
    let text = match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_owned(),
        ValueKind::Number => value.to_string(),
        // As YAML and JSON spell them, not as Python does (`True`).
        ValueKind::Bool => value.is_true().to_string(),
        _ => {
            return Err(invalid(format!(
                "quote expects a string, number or boolean, not {}",
                kind_name(value)
            )));
        }
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Control characters, and those YAML 1.1 readers take for line
            // breaks or a byte order mark, as escapes both languages read.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

fn kind_name(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "an undefined value",
        ValueKind::None => "none",
        ValueKind::Bool => "a boolean",
        ValueKind::Number => "a number",
        ValueKind::String => "a string",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => "a list",
        ValueKind::Map => "a mapping",
        ValueKind::Iterable => "an iterable",
        ValueKind::Plain => "an object",
        ValueKind::Invalid => "an invalid value",
        _ => "a value of another kind",
    }
}

/// A network in CIDR notation: its first address (host bits cleared, so
/// `10.10.0.7/24` is `10.10.0.0/24`) and its prefix length.
struct Cidr {
    network: u128,
    prefix: u32,
    v6: bool,
}

impl Cidr {
    fn parse(text: &str) -> Result<Cidr, Error> {
        let wrong = || {
            invalid(format!(
                "{text:?} is not a network in CIDR notation, such as 10.10.0.0/24 or fd00::/64"
            ))
        };
        let (address, prefix) = text.split_once('/').ok_or_else(wrong)?;
        let address: IpAddr = address.parse().map_err(|_| wrong())?;
        let prefix: u32 = prefix.parse().map_err(|_| wrong())?;
        let (bits, v6) = match address {
            IpAddr::V4(a) => (u128::from(u32::from(a)), false),
            IpAddr::V6(a) => (u128::from(a), true),
        };
        let cidr = Cidr {
            network: 0,
            prefix,
            v6,
        };
        if prefix > cidr.width() {
            return Err(wrong());
        }
        Ok(Cidr {
            network: bits & cidr.mask(),
            ..cidr
        })
    }

    /// Address width in bits: 32 or 128.
    fn width(&self) -> u32 {
        if self.v6 { 128 } else { 32 }
    }

    /// The netmask as an integer of [`Cidr::width`] bits.
    fn mask(&self) -> u128 {
        let all = if self.v6 {
            u128::MAX
        } else {
            u128::from(u32::MAX)
        };
        let host_bits = self.width() - self.prefix;
        all & !(u128::MAX.checked_shr(128 - host_bits).unwrap_or(0))
    }

    /// The highest offset of an address in the network (size - 1).
    fn last_offset(&self) -> u128 {
        u128::MAX
            .checked_shr(128 - (self.width() - self.prefix))
            .unwrap_or(0)
    }

    fn address(&self, bits: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(bits).to_string()
        } else {
            // The mask keeps an IPv4 network within 32 bits.
            Ipv4Addr::from(u32::try_from(bits).unwrap_or(u32::MAX)).to_string()
        }
    }
}

/// The `n`-th address of a network: 0 is the network's own address, -1 its
/// last (the broadcast address of an IPv4 network).
fn cidr_host(cidr: &str, n: i64) -> Result<String, Error> {
    let net = Cidr::parse(cidr)?;
    let last = net.last_offset();
    let offset = if n >= 0 {
        Some(u128::from(n.unsigned_abs()))
    } else {
        // -1 is the last address, -size the first.
        last.checked_sub(u128::from(n.unsigned_abs()) - 1)
    };
    let Some(offset) = offset.filter(|offset| *offset <= last) else {
        let count = last
            .checked_add(1)
            .map_or_else(|| "2^128".to_owned(), |c| c.to_string());
        return Err(invalid(format!(
            "address {n} is outside {cidr}, which has {count} addresses: 0 is the first, -1 the last"
        )));
    };
    Ok(net.address(net.network + offset))
}

/// The prefix length of a network: 24 for `10.10.0.0/24`.
fn cidr_prefix(cidr: &str) -> Result<u32, Error> {
    Ok(Cidr::parse(cidr)?.prefix)
}

/// The netmask of a network: `255.255.255.0` for `10.10.0.0/24`,
/// `ffff:ffff:ffff:ffff::` for `fd00::/64`.
fn cidr_netmask(cidr: &str) -> Result<String, Error> {
    let net = Cidr::parse(cidr)?;
    Ok(net.address(net.mask()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_helpers_count_from_both_ends_and_refuse_what_is_outside() {
        assert_eq!(cidr_host("10.10.0.0/24", 5).unwrap(), "10.10.0.5");
        assert_eq!(cidr_host("10.10.0.77/24", 0).unwrap(), "10.10.0.0");
        assert_eq!(cidr_host("10.10.0.0/24", 255).unwrap(), "10.10.0.255");
        assert_eq!(cidr_host("10.10.0.0/24", -1).unwrap(), "10.10.0.255");
        assert_eq!(cidr_host("10.10.0.0/24", -256).unwrap(), "10.10.0.0");
        assert_eq!(cidr_host("10.10.0.1/32", 0).unwrap(), "10.10.0.1");
        assert_eq!(cidr_host("0.0.0.0/0", -1).unwrap(), "255.255.255.255");
        assert_eq!(cidr_host("fd00::/64", 10).unwrap(), "fd00::a");
        assert_eq!(
            cidr_host("fd00::/64", -1).unwrap(),
            "fd00::ffff:ffff:ffff:ffff"
        );
        assert_eq!(
            cidr_host("::/0", -1).unwrap(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(
            cidr_host("::/0", i64::MIN).unwrap(),
            "ffff:ffff:ffff:ffff:8000::"
        );
        for (cidr, n) in [
            ("10.10.0.0/24", 256),
            ("10.10.0.0/24", -257),
            ("10.10.0.1/32", 1),
            ("10.10.0.1/32", -2),
            ("fd00::/120", 256),
        ] {
            assert!(cidr_host(cidr, n).is_err(), "{cidr} {n}");
        }
        assert_eq!(
            cidr_host("10.10.0.0/24", 256).unwrap_err().detail(),
            Some(
                "address 256 is outside 10.10.0.0/24, which has 256 addresses: 0 is the first, -1 the last"
            )
        );
        assert_eq!(cidr_prefix("10.10.0.0/24").unwrap(), 24);
        assert_eq!(cidr_prefix("fd00::/64").unwrap(), 64);
        assert_eq!(cidr_netmask("10.10.0.0/24").unwrap(), "255.255.255.0");
        assert_eq!(cidr_netmask("10.128.0.0/14").unwrap(), "255.252.0.0");
        assert_eq!(cidr_netmask("0.0.0.0/0").unwrap(), "0.0.0.0");
        assert_eq!(cidr_netmask("10.0.0.1/32").unwrap(), "255.255.255.255");
        assert_eq!(cidr_netmask("fd00::/64").unwrap(), "ffff:ffff:ffff:ffff::");
        assert_eq!(cidr_netmask("::/0").unwrap(), "::");
        for wrong in [
            "10.10.0.0",
            "10.10.0.0/33",
            "fd00::/129",
            "10.10.0/24",
            "x/1",
            "10.0.0.0/-1",
        ] {
            assert_eq!(
                cidr_prefix(wrong).unwrap_err().detail(),
                Some(
                    format!(
                        "{wrong:?} is not a network in CIDR notation, such as 10.10.0.0/24 or fd00::/64"
                    )
                    .as_str()
                )
            );
        }
    }

    #[test]
    fn quote_writes_what_yaml_and_json_read_back_as_the_same_string() {
        for text in [
            "plain",
            "4.16",
            "yes",
            "a \"quoted\" \\ path",
            "line\nbreak\ttab\r",
            "\u{1}\u{7f}\u{85}\u{2028}\u{feff}é✓",
            "",
        ] {
            let quoted = quote(&Value::from(text)).unwrap();
            let from_json: String = serde_json::from_str(&quoted).unwrap();
            assert_eq!(from_json, text, "{quoted}");
            let from_yaml = opsmith_yaml::parse_value(&quoted).unwrap();
            assert_eq!(from_yaml, text, "{quoted}");
        }
        assert_eq!(quote(&Value::from(5)).unwrap(), "\"5\"");
        assert_eq!(quote(&Value::from(true)).unwrap(), "\"true\"");
        assert_eq!(
            quote(&Value::from(vec![1])).unwrap_err().detail(),
            Some("quote expects a string, number or boolean, not a list")
        );
    }
}
