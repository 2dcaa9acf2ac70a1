//! `leakhound snapshot` (being written).

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CmdResult {
    anyhow::bail!("`leakhound snapshot` is not available in this build yet")
}
