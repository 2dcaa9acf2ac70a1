//! # leakhound-check: the CI gate behind `leakhound check`
//!
//! Starts a Node service from a scenario ([`scenario`], the `[check]` table of
//! `leakhound.toml`), waits until it is ready ([`app`]), warms it up, then runs K rounds of
//! HTTP load ([`loadgen`], or an external command, [`external`]) with a GC'd heap snapshot
//! after each, taken over the inspector. Memory (RSS of the process group, V8 used heap) is
//! sampled throughout ([`memory`]). Afterwards the finder runs over the snapshots
//! ([`findings`]), the memory timeline is judged ([`verdict`]), and the outcome is one
//! [`report::CheckReport`] rendered as JSON, JUnit XML, SARIF or HTML.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use leakhound_check::{pipeline, scenario::ScenarioFile};
//! let file = std::path::Path::new("examples/leaky-service/leakhound.toml");
//! let scenario = ScenarioFile::load(file)?.resolve()?;
//! let report = pipeline::run(&scenario, Some(file), &|p| eprintln!("{p:?}")).await?;
//! println!("{} with {} findings", report.verdict.level.as_str(), report.findings.len());
//! # Ok(()) }
//! ```
//!
//! *Architecture invariant*: this crate never parses snapshots itself (the finder does) and
//! never prints; the CLI renders progress and the terminal summary.

pub mod app;
pub mod external;
pub mod findings;
pub mod inspect;
pub mod loadgen;
pub mod memory;
pub mod pipeline;
pub mod report;
pub mod scenario;
pub mod units;
pub mod verdict;
