//! Dropping a stream reaches the service: its stream is dropped, its context cancelled,
//! a blocking producer stops (within a few seconds, generous for a loaded machine; the
//! services run for 10 s or more when nothing stops them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::services::*;
use crate::support::{client, start};

async fn soon(flag: &AtomicBool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    flag.load(Ordering::SeqCst)
}

#[tokio::test]
async fn dropping_an_async_stream_cancels_the_service() {
    let server = start().await;
    let client = client(&server).await;
    let mut stream = client.fetch(Slow {}).await.unwrap();
    stream.next().await.unwrap().unwrap();
    assert!(!server.probes.stream_dropped.load(Ordering::SeqCst));
    drop(stream);
    assert!(
        soon(&server.probes.stream_dropped).await,
        "service stream not dropped"
    );
    assert!(
        soon(&server.probes.context_cancelled).await,
        "context not cancelled"
    );
}

#[tokio::test]
async fn dropping_a_blocking_stream_stops_the_producer() {
    let server = start().await;
    let client = client(&server).await;
    let mut stream = client.fetch(BlockingEndless {}).await.unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    assert!(
        soon(&server.probes.producer_stopped).await,
        "producer still running"
    );
}
