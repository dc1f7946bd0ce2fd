//! A real load balancer in front of three replicas: nginx (started here on loopback
//! with a generated configuration) passing gRPC to three demo servers. Calls over one
//! client connection spread over all three, and a bulk stream goes through whole.

use std::time::{Duration, Instant};

use crate::support::DemoProcess;

/// The nginx binary.
fn nginx_binary() -> &'static str {
    if std::path::Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}

/// An nginx process on a free loopback port (another, if the one chosen was taken
/// before nginx bound it), stopped on drop.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Nginx {
    fn start(upstreams: &[String], folder: &std::path::Path) -> Self {
        crate::support::on_free_ports(1, |port| Self::try_start(upstreams, folder, port[0]))
    }

    /// nginx on `port`; `Err` with its error log when it stopped before serving.
    fn try_start(
        upstreams: &[String],
        folder: &std::path::Path,
        port: u16,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(folder.join("logs")).unwrap();
        // A replica that refused a connection (restarting, say) is passed over for 2 s
        // only: nginx's default of 10 s can leave a rolling restart with none.
        let servers: String = upstreams
            .iter()
            .map(|u| {
                format!(
                    "        server {} max_fails=1 fail_timeout=2s;\n",
                    u.trim_start_matches("grpc://")
                )
            })
            .collect();
        // The settings a deployment needs: HTTP/2 towards the clients, gRPC to the
        // replicas, long read/send timeouts for long streams, no buffering of responses.
        let config = format!(
            "daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream replicas {{
{servers}        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port} http2;
        grpc_read_timeout 300s;
        grpc_send_timeout 300s;
        grpc_buffer_size 1m;
        http2_chunk_size 64k;
        client_max_body_size 8m;
        location / {{
            grpc_pass grpc://replicas;
        }}
    }}
}}
",
            folder = folder.display()
        );
        let conf = folder.join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let _ = std::fs::remove_file(folder.join("nginx.pid"));
        // Its output not ours: a worker that outlived its master would hold our pipes.
        let child = std::process::Command::new(nginx_binary())
            .args(["-p", folder.to_str().unwrap(), "-c", conf.to_str().unwrap()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut nginx = Nginx { child, port };
        // nginx writes its pid file once its sockets are bound: serving on this port,
        // not answered by whatever else might listen there.
        let pid_file = folder.join("nginx.pid");
        let error_log =
            || std::fs::read_to_string(folder.join("logs/error.log")).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                return Err(format!("nginx ended ({status}): {}", error_log()));
            }
            if pid_file.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(nginx);
            }
            if Instant::now() > deadline {
                let _ = nginx.child.kill();
                panic!("nginx did not listen within 10 s: {}", error_log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Nginx {
    /// SIGTERM: the master stops its workers, then itself (SIGKILL would orphan them).
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx told a port already taken stops, its log saying so (and another port is tried).
#[test]
#[cfg_attr(
    no_nginx,
    ignore = "nginx is not installed: apt-get install -y nginx-light"
)]
fn nginx_on_a_port_in_use_is_told_apart() {
    let folder = crate::support::scratch_dir("nginx-taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let upstream = ["grpc://127.0.0.1:9".to_owned()];
    let log = Nginx::try_start(&upstream, folder.path(), port)
        .map(drop)
        .expect_err("the port is taken");
    assert!(crate::support::address_in_use(&log), "{log}");
    let nginx = Nginx::start(&upstream, folder.path());
    assert_ne!(nginx.port, port);
}

#[tokio::test]
#[cfg_attr(
    no_nginx,
    ignore = "nginx is not installed: apt-get install -y nginx-light"
)]
async fn nginx_spreads_calls_over_three_replicas() {
    let scratch = crate::support::scratch_dir("nginx");
    let folder = scratch.path();
    let logs: Vec<std::path::PathBuf> = (0..3)
        .map(|i| folder.join(format!("replica-{i}.log")))
        .collect();
    std::fs::create_dir_all(folder).unwrap();
    let replicas: Vec<DemoProcess> = logs
        .iter()
        .map(|log| {
            DemoProcess::spawn_with_stderr(
                &[
                    "start-flight-server",
                    "--flight-location",
                    "grpc://127.0.0.1:0",
                ],
                &[("RUST_LOG", "info"), ("NO_COLOR", "1")],
                std::fs::File::create(log).unwrap().into(),
            )
        })
        .collect();
    let upstreams: Vec<String> = replicas.iter().map(|r| r.location.clone()).collect();
    let nginx = Nginx::start(&upstreams, folder);
    let client = fastflight::Client::connect(&format!("grpc://127.0.0.1:{}", nginx.port))
        .await
        .unwrap();
    let echo = r#"{"param_type": "fastflight.demo_services.echo_demo.EchoParams"}"#;
    for _ in 0..300 {
        assert_eq!(
            crate::support::rows_of(client.fetch_ticket(echo).await).await,
            1
        );
    }
    // A bulk stream through the balancer.
    let big = r#"{"param_type": "fastflight.demo.SyntheticParams", "rows": 2000000}"#;
    assert_eq!(
        crate::support::rows_of(client.fetch_ticket(big).await).await,
        2_000_000
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let echoes: Vec<usize> = logs
        .iter()
        .map(|log| {
            std::fs::read_to_string(log)
                .unwrap()
                .lines()
                .filter(|l| l.contains("stream ended") && l.contains("EchoParams"))
                .count()
        })
        .collect();
    assert_eq!(echoes.iter().sum::<usize>(), 300, "{echoes:?}");
    for served in &echoes {
        assert!((60..=140).contains(served), "calls per replica: {echoes:?}");
    }
    drop(nginx);
}

/// A rolling restart of the replicas behind nginx while a client calls in a loop: each
/// replica, sent SIGTERM, goes on serving through its `--shutdown-delay` (not ready),
/// then stops accepting and finishes its streams; nginx sends the next calls to the
/// others; the replica comes back on its port. No call is lost.
#[tokio::test]
#[cfg_attr(
    no_nginx,
    ignore = "nginx is not installed: apt-get install -y nginx-light"
)]
async fn a_rolling_restart_behind_nginx_loses_no_call() {
    let scratch = crate::support::scratch_dir("nginx-rolling");
    let folder = scratch.path();
    let delay = [("FASTFLIGHT_SHUTDOWN_DELAY", "2")];
    let mut replicas: Vec<DemoProcess> = (0..3)
        .map(|_| {
            DemoProcess::spawn(
                &[
                    "start-flight-server",
                    "--flight-location",
                    "grpc://127.0.0.1:0",
                ],
                &delay,
            )
        })
        .collect();
    let locations: Vec<String> = replicas.iter().map(|r| r.location.clone()).collect();
    let nginx = Nginx::start(&locations, folder);
    let client = fastflight::Client::builder(&format!("grpc://127.0.0.1:{}", nginx.port))
        .resilience(fastflight::resilience::Resilience::preset("default").unwrap())
        .connect()
        .await
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calls = {
        let (client, stop) = (client.clone(), std::sync::Arc::clone(&stop));
        tokio::spawn(async move {
            let echo = r#"{"param_type": "fastflight.demo_services.echo_demo.EchoParams"}"#;
            let (mut served, mut lost) = (0_u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let call = async { client.fetch_ticket(echo).await?.collect().await };
                match tokio::time::timeout(Duration::from_secs(20), call).await {
                    Ok(Ok(batches)) if batches.iter().map(|b| b.num_rows()).sum::<usize>() == 1 => {
                        served += 1
                    }
                    other => lost.push(format!("{other:?}")),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (served, lost)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (i, replica) in replicas.iter_mut().enumerate() {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &replica.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while replica.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "replica {i} did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // As a rolling restart does: the next replica only once this one serves again,
        // at its address.
        replica.restart(
            &["start-flight-server", "--flight-location", &locations[i]],
            &delay,
        );
        let direct = fastflight::Client::connect(&locations[i]).await.unwrap();
        direct
            .fetch(fastflight_demo_api::EchoParams::default())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (served, lost) = calls.await.unwrap();
    println!(
        "rolling restart: {served} calls served, {} lost",
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{} calls lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(served > 100, "only {served} calls in the restart");
    drop(nginx);
}
