//! The SLO period and the multiwindow, multi-burn-rate alert windows: parsed
//! from the config's `windows` (Sloth's `AlertWindows` spec) and turned into
//! the burn-rate factors the alerts compare against.

use opsmith_plugin_sdk::Error;

use crate::config::{AlertWindows, Window as WindowConfig};

/// A duration in whole seconds, as Prometheus writes it in a range selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub u64);

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const YEAR: u64 = 365 * DAY;

impl Duration {
    /// Parses a Prometheus duration of whole seconds or more: units `y`, `w`,
    /// `d`, `h`, `m` and `s`, largest first, such as `30d` or `1h30m`.
    pub fn parse(text: &str) -> Option<Duration> {
        const UNITS: [(&str, u64); 6] = [
            ("y", YEAR),
            ("w", WEEK),
            ("d", DAY),
            ("h", HOUR),
            ("m", MINUTE),
            ("s", 1),
        ];
        let mut rest = text;
        let mut total: u64 = 0;
        // Prometheus takes each unit at most once, largest first.
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let value: u64 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            // `ms` would read as minutes followed by a stray `s`.
            if rest.starts_with("ms") {
                return None;
            }
            let found = UNITS[next_unit..]
                .iter()
                .position(|(unit, _)| rest.starts_with(unit))?;
            let (unit, seconds) = UNITS[next_unit + found];
            next_unit += found + 1;
            rest = &rest[unit.len()..];
            total = total.checked_add(value.checked_mul(seconds)?)?;
        }
        (total > 0).then_some(Duration(total))
    }

    /// Hours, as Sloth computes burn factors in.
    pub fn hours(self) -> f64 {
        // Durations here are far below 2^53 seconds.
        self.0 as f64 / HOUR as f64
    }
}

/// As Prometheus prints a duration (prometheus/common model.Duration.String,
/// which Sloth uses for its rule names and `sloth_window` labels): years and
/// weeks only when they divide it exactly, then days, hours, minutes and
/// seconds: `30d`, `1w`, `1h30m`.
impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        for (unit, seconds, exact) in [
            ("y", YEAR, true),
            ("w", WEEK, true),
            ("d", DAY, false),
            ("h", HOUR, false),
            ("m", MINUTE, false),
            ("s", 1, false),
        ] {
            if exact && !rest.is_multiple_of(seconds) {
                continue;
            }
            let value = rest / seconds;
            if value > 0 {
                write!(f, "{value}{unit}")?;
                rest -= value * seconds;
            }
        }
        Ok(())
    }
}

/// One of the four alert conditions: a share of the period's error budget
/// spent within the long window, and still being spent in the short one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    pub short: Duration,
    pub long: Duration,
    /// How many times faster than "the budget lasts exactly the period" the
    /// errors must come to spend `errorBudgetPercent` in `long`.
    pub factor: f64,
}

/// The parsed `windows`.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    pub period: Duration,
    pub page_quick: BurnWindow,
    pub page_slow: BurnWindow,
    pub ticket_quick: BurnWindow,
    pub ticket_slow: BurnWindow,
}

impl Windows {
    /// Parses and checks the config's `windows`, with errors at its fields.
    pub fn from_config(config: &AlertWindows) -> Result<Windows, Error> {
        let at = "/config/windows";
        let period = duration(&config.slo_period, &format!("{at}/sloPeriod"))?;
        let window = |severity: &str, speed: &str, w: &WindowConfig| {
            burn_window(w, period, &format!("{at}/{severity}/{speed}"))
        };
        Ok(Windows {
            period,
            page_quick: window("page", "quick", &config.page.quick)?,
            page_slow: window("page", "slow", &config.page.slow)?,
            ticket_quick: window("ticket", "quick", &config.ticket.quick)?,
            ticket_slow: window("ticket", "slow", &config.ticket.slow)?,
        })
    }

    /// Every window an SLI is recorded for, shortest first, without the
    /// period (recorded differently).
    pub fn sli_windows(&self) -> Vec<Duration> {
        let mut all: Vec<Duration> = [
            self.page_quick,
            self.page_slow,
            self.ticket_quick,
            self.ticket_slow,
        ]
        .iter()
        .flat_map(|w| [w.short, w.long])
        .collect();
        all.sort();
        all.dedup();
        all
    }
}

fn duration(text: &str, pointer: &str) -> Result<Duration, Error> {
    Duration::parse(text).ok_or_else(|| {
        Error::at(
            pointer,
            format!(
                "`{text}` is not a duration: a number and a unit, largest unit first \
                 (y, w, d, h, m, s), such as `30d`, `6h` or `1h30m`"
            ),
        )
    })
}

/// The factor by which errors must outpace the budget to spend `percent` of
/// a `period`'s budget in `window`. Sloth's arithmetic, operation for
/// operation (internal/alert/window.go, getBurnRateFactor), so that the
/// thresholds are the same numbers to the last bit:
/// 2% of 30 days in 1h is 2 * 720 / 100 / 1 = 14.4.
pub fn burn_factor(percent: f64, period: Duration, window: Duration) -> f64 {
    percent * period.hours() / 100.0 / window.hours()
}

fn burn_window(w: &WindowConfig, period: Duration, at: &str) -> Result<BurnWindow, Error> {
    let short = duration(&w.short_window, &format!("{at}/shortWindow"))?;
    let long = duration(&w.long_window, &format!("{at}/longWindow"))?;
    if !(w.error_budget_percent > 0.0 && w.error_budget_percent <= 100.0) {
        return Err(Error::at(
            &format!("{at}/errorBudgetPercent"),
            format!(
                "`errorBudgetPercent` must be more than 0 and at most 100, the share of the \
                 period's error budget spent in `longWindow`; got {}",
                w.error_budget_percent
            ),
        ));
    }
    if short >= long {
        return Err(Error::at(
            &format!("{at}/shortWindow"),
            format!("the short window ({short}) must be shorter than the long window ({long})"),
        ));
    }
    // The period has an SLI rule of its own, which a window of the same
    // length would record twice.
    if long >= period {
        return Err(Error::at(
            &format!("{at}/longWindow"),
            format!("the long window ({long}) must be shorter than `sloPeriod` ({period})"),
        ));
    }
    Ok(BurnWindow {
        short,
        long,
        factor: burn_factor(w.error_budget_percent, period, long),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_as_prometheus_does() {
        for (text, seconds, printed) in [
            ("5m", 300, "5m"),
            ("1h", 3600, "1h"),
            ("1d", 86_400, "1d"),
            ("30d", 2_592_000, "30d"),
            // Weeks and years only when exact, as prometheus/common prints them.
            ("7d", 604_800, "1w"),
            ("28d", 2_419_200, "4w"),
            ("90d", 7_776_000, "90d"),
            ("1w2d", 777_600, "9d"),
            ("1h30m", 5400, "1h30m"),
            ("90m", 5400, "1h30m"),
            ("1y", 31_536_000, "1y"),
        ] {
            let d = Duration::parse(text).unwrap_or_else(|| panic!("{text} parses"));
            assert_eq!(d, Duration(seconds), "{text}");
            assert_eq!(d.to_string(), printed, "{text}");
        }
        for bad in [
            "", "5", "m", "5x", "1m1h", "1h1h", "500ms", "0s", "-5m", "5 m",
        ] {
            assert_eq!(Duration::parse(bad), None, "{bad:?}");
        }
    }

    /// Sloth's defaults (internal/alert/windows/google-30d.yaml, from the
    /// SRE workbook's table) give Sloth's documented factors: 14.4 and 6 for
    /// the page alert, 3 and 1 for the ticket alert, exactly.
    #[test]
    fn default_windows_give_sloths_burn_factors() {
        let w = Windows::from_config(&AlertWindows::default()).unwrap();
        assert_eq!(w.period, Duration(30 * DAY));
        let table: Vec<(String, String, f64)> =
            [w.page_quick, w.page_slow, w.ticket_quick, w.ticket_slow]
                .iter()
                .map(|b| (b.short.to_string(), b.long.to_string(), b.factor))
                .collect();
        let expected = [
            ("5m", "1h", 14.4),
            ("30m", "6h", 6.0),
            ("2h", "1d", 3.0),
            ("6h", "3d", 1.0),
        ];
        assert_eq!(
            table,
            expected.map(|(s, l, f)| (s.to_owned(), l.to_owned(), f))
        );
        let sli: Vec<String> = w.sli_windows().iter().map(ToString::to_string).collect();
        assert_eq!(sli, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
        // Other periods scale the factors: 10% of 28 days in a day.
        assert_eq!(
            burn_factor(10.0, Duration(28 * DAY), Duration(DAY)),
            2.8000000000000003
        );
    }
}
