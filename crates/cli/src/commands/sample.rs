//! `leakhound sample`: a sampling heap profile of a live Node process, and its top
//! allocation sites by bytes still live at the end.

use super::{CmdResult, Status};
use crate::output;
use anyhow::Context;
use leakhound_inspector::{
    default_profile_name, procfs, profile, AllocationSite, AtomicFile, Attached, HostPolicy,
    InspectorError, ResolveOptions, Target,
};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Sample allocations of a live Node process and print the top allocation sites.
///
/// Runs V8's sampling heap profiler (HeapProfiler.startSampling) for --duration, then
/// writes the profile as a `.heapprofile` (the JSON `node --heap-prof` writes; load it in
/// Chrome DevTools' Memory panel) and prints the allocation sites holding the most bytes
/// still live at the end: function, script:line:column (1-based), live bytes and share.
/// A class that grows across snapshots can so be tied to the code that allocates it.
/// V8 attributes samples to functions: line:column is where the allocating function is
/// defined (its parameter list), so one row covers every allocation in that function.
///
/// TARGET is a PID (its inspector is turned on with SIGUSR1 when off, and off again
/// afterwards), the HOST:PORT of an open inspector, or a ws:// URL. Ctrl-C ends the sampling
/// early and still writes the profile.
///
/// SECURITY: the inspector gives code execution to anyone who can reach it. leakhound only
/// connects to loopback addresses unless --host names another host.
#[derive(clap::Args)]
#[command(
    after_help = "SECURITY: the inspector gives code execution to anyone who can reach it; only loopback is contacted unless --host names a host."
)]
pub struct Args {
    /// PID, HOST:PORT of an open inspector, or ws://HOST:PORT/UUID.
    pub target: String,

    /// How long to sample: `30s`, `2m`, `1500ms`, `1h` (a bare number is seconds).
    #[arg(short, long, default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Mean bytes between samples (V8 samples one allocation per INTERVAL bytes on
    /// average); smaller is more precise and slower. Accepts `32768`, `32k`, `1m`.
    #[arg(long, value_name = "BYTES", default_value = "32768", value_parser = parse_bytes)]
    pub interval: u64,

    /// Where to write the profile [default: Heap.<date>.<time>.<pid>.heapprofile].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How many allocation sites to print.
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub top: usize,

    /// Do not force a garbage collection before reading the profile (then sites include
    /// allocations that are already garbage but not yet collected).
    #[arg(long)]
    pub no_gc: bool,

    /// Port the process opens its inspector on after SIGUSR1 (its own --inspect-port).
    #[arg(long, value_name = "PORT", default_value_t = leakhound_inspector::DEFAULT_INSPECT_PORT)]
    pub inspect_port: u16,

    /// Allow connecting to this non-loopback host. The inspector gives code execution to
    /// anyone who can reach it: only use this over a trusted network or an SSH tunnel.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Print a machine-readable JSON report on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `30s`, `2m`, `1500ms`, `1h`, `1m30s`; a bare number is seconds. Positive, under 30 days.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let secs = leakhound_check::units::parse_seconds(s)?;
    if secs <= 0.0 || secs > 30.0 * 86400.0 {
        return Err(format!(
            "{s:?}: the duration must be positive (and under 30 days)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `32768`, `32k`, `32KiB`, `1m`, `1MB` (powers of 1024); at least 1 byte.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let v = leakhound_check::units::parse_bytes(s)?;
    if v == 0 {
        return Err("the interval must be at least 1 byte".into());
    }
    Ok(v)
}

#[derive(Serialize)]
struct Report<'a> {
    path: &'a std::path::Path,
    bytes: u64,
    /// Seconds actually sampled (shorter than requested after Ctrl-C).
    sampled_seconds: f64,
    interrupted: bool,
    pid: Option<u32>,
    ws_url: &'a str,
    interval: u64,
    gc: bool,
    total_live_bytes: u64,
    sample_count: usize,
    opened_inspector: bool,
    inspector_closed: Option<bool>,
    sites: &'a [AllocationSite],
    warnings: &'a [String],
}

pub fn run(args: Args) -> CmdResult {
    let target: Target = args.target.parse()?;
    let opts = ResolveOptions {
        inspect_port: args.inspect_port,
        host_policy: match &args.host {
            Some(h) => HostPolicy::allow(h.clone()),
            None => HostPolicy::loopback_only(),
        },
        ..ResolveOptions::default()
    };
    let path = match &args.output {
        Some(p) => p.clone(),
        None => PathBuf::from(default_profile_name(match target {
            Target::Pid(pid) => Some(pid),
            _ => None,
        })),
    };
    // Fail on an unwritable destination before touching the process.
    let mut file = AtomicFile::create(&path)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    runtime.block_on(async move {
        let spinner = if args.json {
            indicatif::ProgressBar::hidden()
        } else {
            output::spinner("Connecting to the inspector")
        };
        let attached = Attached::open(&target, &opts).await?;
        let pid = attached.resolved.pid;

        let sampled = sample(&attached, &args, &spinner).await;
        spinner.finish_and_clear();
        let sampled = match sampled {
            Ok(s) => Ok(s),
            Err(e) => Err(attached.explain(e).await),
        };

        // Leave the process as it was found, whatever happened.
        let ws_url = attached.resolved.ws_url.clone();
        let opened = attached.resolved.opened_by_us;
        let mut warnings = Vec::new();
        let closed = match attached.detach(Duration::from_secs(10)).await {
            Ok(c) => c,
            Err(e) => {
                warnings.push(format!("could not turn the inspector off again: {e}"));
                Some(false)
            }
        };
        if closed == Some(false) && warnings.is_empty() {
            warnings.push("the inspector is still listening after inspector.close()".into());
        }
        let (profile, elapsed, interrupted) = sampled?;

        let bytes = serde_json::to_vec(&profile).context("encoding the profile")?;
        file.write_all(&bytes).map_err(|e| InspectorError::File {
            path: path.clone(),
            source: e,
        })?;
        file.commit()?;

        let sites = profile::top_sites(&profile, args.top);
        let total = profile::total_live_bytes(&profile);
        let sample_count = profile
            .get("samples")
            .and_then(|s| s.as_array())
            .map_or(0, |a| a.len());
        if args.json {
            output::print_json(&Report {
                path: &path,
                bytes: bytes.len() as u64,
                sampled_seconds: elapsed.as_secs_f64(),
                interrupted,
                pid,
                ws_url: &ws_url,
                interval: args.interval,
                gc: !args.no_gc,
                total_live_bytes: total,
                sample_count,
                opened_inspector: opened,
                inspector_closed: closed,
                sites: &sites,
                warnings: &warnings,
            })?;
        } else {
            let who = pid.map_or(ws_url.clone(), |p| format!("process {p}"));
            println!(
                "{} {} ({}): {:.1}s of sampling {who}{}, {} live in {} samples",
                output::paint("Wrote", output::Style::Bold),
                path.display(),
                output::fmt_bytes(bytes.len() as u64),
                elapsed.as_secs_f64(),
                if interrupted {
                    " (ended by Ctrl-C)"
                } else {
                    ""
                },
                output::fmt_bytes(total),
                output::fmt_count(sample_count as u64),
            );
            if opened {
                let state = if closed == Some(true) {
                    "closed again"
                } else {
                    "could NOT be closed again"
                };
                println!("  inspector: opened with SIGUSR1, {state}");
            }
            let mut t = output::table(&["#", "function", "defined at", "live", "share"]);
            for (i, s) in sites.iter().enumerate() {
                t.add_row(vec![
                    (i + 1).to_string(),
                    s.function.clone(),
                    s.location(),
                    output::fmt_bytes(s.live_bytes),
                    format!("{:.1}%", s.share * 100.0),
                ]);
            }
            println!("{t}");
            for w in &warnings {
                eprintln!("warning: {w}");
            }
        }
        Ok(Status::Ok)
    })
}

/// Starts sampling, waits (Ctrl-C ends early), reads the profile, stops sampling.
async fn sample(
    attached: &Attached,
    args: &Args,
    spinner: &indicatif::ProgressBar,
) -> Result<(serde_json::Value, Duration, bool), InspectorError> {
    let session = &attached.session;
    let pid = attached.resolved.pid;
    session.start_sampling(args.interval).await?;
    let start = Instant::now();
    let deadline = start + args.duration;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let left = deadline - now;
        spinner.set_message(format!(
            "Sampling allocations, {}s left (Ctrl-C to stop early)",
            left.as_secs() + 1
        ));
        tokio::select! {
            _ = tokio::time::sleep(left.min(Duration::from_millis(250))) => {}
            _ = &mut ctrl_c => {
                interrupted = true;
                break;
            }
        }
        if let Some(pid) = pid {
            if !procfs::is_alive(pid) {
                return Err(InspectorError::ProcessExited { pid });
            }
        }
    }
    let elapsed = start.elapsed();
    if !args.no_gc {
        spinner.set_message("Collecting garbage");
        session.collect_garbage().await?;
    }
    spinner.set_message("Reading the profile");
    let profile = session.get_sampling_profile().await?;
    session.stop_sampling().await?;
    Ok((profile, elapsed, interrupted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        for bad in ["", "abc", "10x", "0s", "-5", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("32768").unwrap(), 32768);
        assert_eq!(parse_bytes("32k").unwrap(), 32768);
        assert_eq!(parse_bytes("512KiB").unwrap(), 512 * 1024);
        assert_eq!(parse_bytes("1m").unwrap(), 1 << 20);
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("x").is_err());
        assert!(parse_bytes("5q").is_err());
    }
}
