//! Runs the finder on snapshot files or a directory and prints the report as JSON:
//! `cargo run -p leakhound-finder --example find -- DIR`.

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    let opts = leakhound_finder::FindOptions {
        top: 0,
        min_confidence: 0.0,
        ..Default::default()
    };
    match leakhound_finder::find_leaks(&paths, &opts) {
        Ok(report) => println!("{}", serde_json::to_string_pretty(&report).unwrap()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
