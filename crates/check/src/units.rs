//! Durations (`250ms`, `3s`, `1.5m`) and sizes (`512KB`, `2MB`) as written in scenarios and flags.

use std::time::Duration;

/// Parses `500ms`, `3s`, `1.5s`, `2m`, `1h`, `1m30s`; a bare number means seconds. At most
/// a week.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let secs = parse_seconds(text)?;
    if !(0.0..=86_400.0 * 7.0).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The seconds written in `text`: a bare number, or terms of a number and a unit (`ms`, `s`,
/// `m`, `h` and their long forms), added up (`1m30s`).
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let not_a_duration = || format!("`{text}` is not a duration (try `500ms`, `3s`, `2m`)");
    if let Ok(secs) = t.parse::<f64>() {
        return if secs.is_finite() {
            Ok(secs)
        } else {
            Err(not_a_duration())
        };
    }
    if t.is_empty() {
        return Err(not_a_duration());
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().map_err(|_| not_a_duration())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match rest[..unit_len].trim() {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hours" => 3600.0,
            other => {
                return Err(format!(
                    "`{text}`: unknown duration unit `{other}` (use ms, s, m or h)"
                ))
            }
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(total)
}

/// Parses `1024`, `512KB`, `2MB`, `1.5GB` (1 KB = 1024 B); a bare number means bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size (try `512KB`, `2MB`)"))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => 1024.0 * 1024.0,
        "G" | "GB" | "GIB" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("`{text}`: unknown size unit `{other}`")),
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(bytes as u64)
}

/// `1.5s`, `250ms`, `2m05s`, for messages.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = d.as_secs_f64();
        if (s - s.round()).abs() < 0.05 {
            format!("{}s", s.round() as u64)
        } else {
            format!("{s:.1}s")
        }
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// serde helpers: a duration written as `"3s"` or as a number of seconds.
pub mod serde_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Secs(f64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::Text(t)) => super::parse_duration(&t)
                .map(Some)
                .map_err(serde::de::Error::custom),
            Some(Raw::Secs(s)) => super::parse_duration(&s.to_string())
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }

    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&super::fmt_duration(*d)),
            None => s.serialize_none(),
        }
    }
}

/// `512 B`, `12.3 KB`, `45.6 MB` (same style as the CLI's output helpers).
pub fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else if value >= 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// `+1.20 MB`, `-300 B`.
pub fn fmt_delta(bytes: i64) -> String {
    let sign = if bytes < 0 { "-" } else { "+" };
    format!("{sign}{}", fmt_bytes(bytes.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("4").unwrap(), Duration::from_secs(4));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("8d").is_err());
        assert!(parse_duration("3 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_duration(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512KB").unwrap(), 512 * 1024);
        assert_eq!(parse_bytes("2MB").unwrap(), 2 * 1024 * 1024);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("2 furlongs").is_err());
    }
}
