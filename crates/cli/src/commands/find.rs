//! `leakhound find` (being written).

use super::CmdResult;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CmdResult {
    anyhow::bail!("`leakhound find` is not available in this build yet")
}
