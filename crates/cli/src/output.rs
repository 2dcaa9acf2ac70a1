//! Terminal conventions shared by every command: logging, colour, tables, sizes, progress, errors.
#![allow(dead_code)]

use comfy_table::{presets, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// `tracing` to stderr; `-v` raises the level, `RUST_LOG` overrides it.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_color())
        .try_init();
}

/// Colour on stdout: only on a terminal, and never when `NO_COLOR` is set (to anything non-empty).
pub fn stdout_color() -> bool {
    no_color_unset() && std::io::stdout().is_terminal()
}

pub fn stderr_color() -> bool {
    no_color_unset() && std::io::stderr().is_terminal()
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Wraps `text` in an ANSI style when stdout takes colour.
pub fn paint(text: &str, style: Style) -> String {
    if !stdout_color() {
        return text.to_string();
    }
    let code = match style {
        Style::Bold => "1",
        Style::Dim => "2",
        Style::Red => "1;31",
        Style::Yellow => "33",
        Style::Green => "32",
        Style::Cyan => "36",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

#[derive(Debug, Clone, Copy)]
pub enum Style {
    Bold,
    Dim,
    Red,
    Yellow,
    Green,
    Cyan,
}

/// A table that draws borders on a terminal and plain columns elsewhere (pipes, CI logs).
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    if std::io::stdout().is_terminal() {
        t.load_preset(presets::UTF8_FULL_CONDENSED);
    } else {
        t.load_preset(presets::ASCII_MARKDOWN);
    }
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header.iter().map(|h| h.to_string()));
    t
}

/// Sizes as people read them (`512 B`, `12.3 KB`, 1 KB = 1024 B) and signed deltas: one
/// implementation, shared with the check crate's reports.
pub use leakhound_check::units::{fmt_bytes, fmt_delta};

/// Thousands separators: `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte progress bar on stderr when it is a terminal; hidden otherwise.
pub fn byte_progress(total: Option<u64>, message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    let template = if total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
    } else {
        "{spinner} {msg} {bytes} ({bytes_per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
    bar
}

/// A spinner for a step of unknown length, on stderr when it is a terminal.
pub fn spinner(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Pretty JSON to stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    use std::io::Write;
    writeln!(out)?;
    Ok(())
}

/// One line on stderr: `error: <what> : <cause> : <cause>`.
pub fn print_error(err: &anyhow::Error) {
    let prefix = if stderr_color() {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    eprintln!("{prefix}: {err:#}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(fmt_bytes(0), "0 B");
        assert_eq!(fmt_bytes(1023), "1023 B");
        assert_eq!(fmt_bytes(1536), "1.50 KB");
        assert_eq!(fmt_bytes(50 * 1024 * 1024), "50.0 MB");
        assert_eq!(fmt_delta(-2048), "-2.00 KB");
        assert_eq!(fmt_count(1234567), "1,234,567");
        assert_eq!(fmt_count(12), "12");
    }
}
