//! Human units on the command line and in `leakhound.toml`: sizes (`512M`, `2G`, `1.5GiB`),
//! durations (`200ms`, `10s`, `30m`, `1h`), growth rates (`10MB/h`) and growth alerts
//! (`20%/30m`). A bare number is always rejected: PM2 reads `max_memory_restart: 512` as
//! 512 bytes and restarts every 30 s (pm2#2488); leakhound asks for a unit instead.

use std::time::Duration;

/// A bad value for a size, duration, rate or growth setting; the message names the value
/// and says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

/// `"1.5 GiB"` → `("1.5", "GiB")`: the leading number and the trimmed unit after it.
fn split_number(text: &str) -> (&str, &str) {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    (num, unit.trim())
}

/// Parses a size. All multiples are binary: `K`/`KB`/`KiB` = 1024, `M`/`MB`/`MiB` = 1024²,
/// `G`, `T` likewise; `B` is bytes. Case-insensitive, fractions allowed (`1.5G`).
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let (num, unit) = split_number(text);
    if num.is_empty() {
        return Err(UnitError(format!(
            "'{text}' is not a size; write a number with a unit, such as 512M, 2G or 1.5GiB"
        )));
    }
    if unit.is_empty() {
        return Err(UnitError(format!(
            "'{text}' has no unit; write {num}M, {num}G or {num}B (a bare number is not read as bytes)"
        )));
    }
    let value: f64 = num
        .parse()
        .map_err(|_| UnitError(format!("'{text}' is not a size: '{num}' is not a number")))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(UnitError(format!(
                "'{text}' has an unknown unit '{unit}'; use B, K, M, G or T (binary multiples)"
            )))
        }
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(UnitError(format!("'{text}' is out of range")));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration: a number and one of `ms`, `s`, `m`, `h`, `d` (`200ms`, `1.5s`, `30m`).
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let (num, unit) = split_number(text);
    if num.is_empty() {
        return Err(UnitError(format!(
            "'{text}' is not a duration; write a number with a unit, such as 200ms, 10s, 30m or 1h"
        )));
    }
    if unit.is_empty() {
        return Err(UnitError(format!(
            "'{text}' has no unit; write {num}s, {num}ms or {num}m"
        )));
    }
    let value: f64 = num.parse().map_err(|_| {
        UnitError(format!(
            "'{text}' is not a duration: '{num}' is not a number"
        ))
    })?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" | "sec" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        _ => {
            return Err(UnitError(format!(
                "'{text}' has an unknown unit '{unit}'; use ms, s, m, h or d"
            )))
        }
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(UnitError(format!("'{text}' is out of range")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a growth rate `SIZE/UNIT` (`10MB/h`, `512K/m`) into bytes per second.
pub fn parse_rate(text: &str) -> Result<f64, UnitError> {
    let Some((size, per)) = text.split_once('/') else {
        return Err(UnitError(format!(
            "'{text}' is not a rate; write a size per time unit, such as 10MB/h or 1M/m"
        )));
    };
    let bytes = parse_size(size)? as f64;
    let per_secs = match per.trim() {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => parse_duration(other)?.as_secs_f64(),
    };
    if per_secs <= 0.0 {
        return Err(UnitError(format!(
            "'{text}': the time unit must be positive"
        )));
    }
    Ok(bytes / per_secs)
}

/// A growth alert: the post-GC heap grew by `percent` over `over`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowthAlert {
    pub percent: f64,
    pub over: Duration,
}

/// Parses `20%/30m` (growth of at least 20 % over 30 minutes).
pub fn parse_growth(text: &str) -> Result<GrowthAlert, UnitError> {
    let bad = || {
        UnitError(format!(
            "'{text}' is not a growth alert; write PERCENT%/DURATION, such as 20%/30m"
        ))
    };
    let (pct, over) = text.split_once('/').ok_or_else(bad)?;
    let pct = pct.trim().strip_suffix('%').ok_or_else(bad)?;
    let percent: f64 = pct.trim().parse().map_err(|_| bad())?;
    if !(percent > 0.0 && percent.is_finite()) {
        return Err(bad());
    }
    let over = parse_duration(over)?;
    if over.is_zero() {
        return Err(bad());
    }
    Ok(GrowthAlert { percent, over })
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`: binary units, for log lines.
pub fn fmt_size(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut i = 0;
    while v.abs() >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("100kb").unwrap(), 102_400);
        assert_eq!(parse_size("4096B").unwrap(), 4096);
        let err = parse_size("512").unwrap_err().0;
        assert!(err.contains("no unit"), "{err}");
        assert!(parse_size("12X").unwrap_err().0.contains("unknown unit"));
        assert!(parse_size("M").is_err());
        assert!(parse_size("0M").is_err());
        assert!(parse_size("1.2.3M").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("10").unwrap_err().0.contains("no unit"));
        assert!(parse_duration("10y").is_err());
    }

    #[test]
    fn rates_and_growth() {
        assert!((parse_rate("36M/h").unwrap() - (36u64 << 20) as f64 / 3600.0).abs() < 1e-6);
        assert!((parse_rate("1K/s").unwrap() - 1024.0).abs() < 1e-9);
        assert!(parse_rate("10").is_err());
        let g = parse_growth("20%/30m").unwrap();
        assert_eq!(g.percent, 20.0);
        assert_eq!(g.over, Duration::from_secs(1800));
        assert!(parse_growth("20/30m").is_err());
        assert!(parse_growth("-5%/1m").is_err());
    }
}
