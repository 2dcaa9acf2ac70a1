//! The built-in load generator on its own, for bench/loadgen/run.sh:
//! `loadgen -c CONNECTIONS -d SECONDS URL` prints one JSON line with the figures.

use leakhound_check::loadgen::{run, LoadSpec, Stop, Target};
use leakhound_check::scenario::TargetSpec;
use std::time::Duration;

fn main() {
    let mut connections = 10usize;
    let mut seconds = 10.0f64;
    let mut threads = 1usize;
    let mut url = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-c" => {
                connections = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(connections)
            }
            "-d" => seconds = args.next().and_then(|v| v.parse().ok()).unwrap_or(seconds),
            "-t" => threads = args.next().and_then(|v| v.parse().ok()).unwrap_or(threads),
            other => url = Some(other.to_string()),
        }
    }
    let Some(url) = url else {
        eprintln!("usage: loadgen [-c CONNECTIONS] [-d SECONDS] [-t THREADS] URL");
        std::process::exit(2);
    };
    let target = match Target::from_spec(&TargetSpec {
        url,
        method: "GET".into(),
        headers: Default::default(),
        body: None,
        weight: 1,
    }) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let out = rt.block_on(run(&LoadSpec {
        targets: vec![target],
        connections,
        stop: Stop::Duration(Duration::from_secs_f64(seconds)),
        timeout: Duration::from_secs(10),
    }));
    let s = out.stats;
    println!(
        "{{\"requests\":{},\"rps\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"mean_ms\":{:.3},\"errors\":{},\"non_2xx\":{}}}",
        s.requests,
        s.requests_per_sec,
        s.latency.p50_ms,
        s.latency.p99_ms,
        s.latency.mean_ms,
        s.errors + s.timeouts,
        s.non_2xx
    );
}
