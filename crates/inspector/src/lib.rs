//! placeholder; see ARCHITECTURE.md
