//! The `fastflight-demo` binary as a real child process.

use fastflight_demo_api::{EchoParams, SyntheticParams};

use crate::support::{demo_binary, DemoProcess};

#[tokio::test]
async fn demo_serves_echo_and_synthetic() {
    let demo = DemoProcess::start();
    // A client that depends only on the request types' crate.
    let client = fastflight::Client::connect(&demo.location).await.unwrap();
    let echo = client
        .fetch(EchoParams::default())
        .await
        .unwrap()
        .concat()
        .await
        .unwrap();
    assert_eq!(echo.num_rows(), 1);
    let rows: usize = client
        .fetch(SyntheticParams {
            rows: 300_000,
            batch_size: 65_536,
            seed: None,
        })
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 300_000);
}

#[test]
fn demo_refuses_a_bad_location() {
    let out = std::process::Command::new(demo_binary())
        .args(["start-flight-server", "--flight-location", "nowhere"])
        .env("FASTFLIGHT_DATA_DIR", crate::support::demo_data_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("grpc://HOST:PORT"), "{err}");
}

#[cfg(unix)]
#[test]
fn demo_exits_cleanly_on_sigterm() {
    let mut demo = DemoProcess::start();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(code) = demo.child.try_wait().unwrap() {
            assert!(code.success(), "exit status {code}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit 10 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
