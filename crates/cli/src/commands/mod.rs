//! One module per subcommand: its `Args` (clap derive) and its `run`.

pub mod check;
pub mod diff;
pub mod export;
pub mod find;
mod load;
pub mod retainers;
pub mod run;
pub mod sample;
pub mod snapshot;
pub mod summary;

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    /// A gating command found a leak (or a red verdict).
    LeakFound = 1,
    /// Usage or input error (also what any `Err` from a command becomes).
    InputError = 2,
}

pub type CmdResult = anyhow::Result<Status>;
