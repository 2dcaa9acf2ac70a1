//! Snapshots land in a real S3-protocol server: moto's server (`pip install 'moto[server]'`,
//! binary `moto_server`), started by the test on a free loopback port. Skipped, loudly, only
//! when `moto_server` is not installed.

#[path = "run_support.rs"]
mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{http, script, Run};

struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn snapshots_are_uploaded_to_an_s3_server() {
    let port = support::free_port();
    let moto = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => Moto(c),
        Err(e) => {
            eprintln!(
                "\n\n!!!!! SKIPPED snapshots_are_uploaded_to_an_s3_server: cannot start moto_server ({e}); \
                 install it with: pip install 'moto[server]' !!!!!\n"
            );
            return;
        }
    };
    let s3: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    // Create the bucket (moto accepts unsigned requests).
    loop {
        match http(s3, "PUT", "/leak-bucket", &[]) {
            Ok((200, _)) => break,
            other if Instant::now() > end => panic!("moto did not come up: {other:?}"),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    let endpoint = format!("http://{s3}");
    let mut run = Run::start(
        &[
            "--warmup",
            "1s",
            "--interval",
            "200ms",
            "--upload",
            "s3://leak-bucket/prod/api",
            "--upload-endpoint",
            &endpoint,
            "--",
            "node",
            &script("busy-server.js"),
        ],
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let line = run
        .wait_line(Duration::from_secs(60), |l| l.contains("uploaded s3://"))
        .unwrap_or_else(|| panic!("no upload: {}", run.stderr()));
    assert!(
        line.contains("s3://leak-bucket/prod/api/leakhound-"),
        "{line}"
    );
    let local = std::fs::read_dir(run.snap_dir())
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("-baseline.heapsnapshot")
        })
        .expect("baseline snapshot on disk")
        .path();
    let name = local.file_name().unwrap().to_string_lossy().into_owned();
    let size = std::fs::metadata(&local).unwrap().len();

    let (code, listing) =
        http(s3, "GET", "/leak-bucket?list-type=2&prefix=prod/api/", &[]).unwrap();
    assert_eq!(code, 200, "{listing}");
    assert!(
        listing.contains(&format!("<Key>prod/api/{name}</Key>")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("<Size>{size}</Size>")),
        "{listing}"
    );

    run.signal(libc::SIGTERM);
    run.wait(Duration::from_secs(30)).expect("leakhound exits");
    drop(moto);
}
