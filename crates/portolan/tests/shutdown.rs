//! SIGTERM during work: `portolan serve` stops taking connections, finishes the request in flight, and exits 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[actix_web::test]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args(["serve", "--bind", &address, "--database-url"])
        .arg(format!("sqlite://{}", dir.path().join("portolan.db").display()))
        .current_dir(dir.path())
        .env("PORTOLAN_DATA_DIR", dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("portolan serve starts");
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ready = client.get(format!("http://{address}/readyz")).send().await.is_ok_and(|r| r.status() == 200);
        if ready {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the portal did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A request whose body is half sent when the signal comes.
    let body = br#"[{"timestamp": "2026-01-01T00:00:00Z", "good": 1, "total": 1}]"#;
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /api/v1/slos/default/no-such-slo/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&body[..10]).await.expect("first half");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(signalled.success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.write_all(&body[10..]).await.expect("the rest, after SIGTERM");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("the response");
    assert!(response.starts_with("HTTP/1.1 404"), "the request in flight is answered: {response}");
    assert!(response.contains("no SLO default/no-such-slo"), "{response}");

    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(stopped.elapsed() < Duration::from_secs(40), "portolan serve did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "exits 0 after SIGTERM: {status:?}");
    assert!(TcpStream::connect(&address).await.is_err(), "no longer listening");
}
