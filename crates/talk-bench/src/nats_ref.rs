//! Physical reference: what the same NATS server does on its own.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

/// NATS reference rates (messages per second).
#[derive(Clone, Debug, Default)]
pub struct NatsRef {
    /// Core NATS: publish → subscriber receipt, 100-byte messages.
    pub core_rate: f64,
    /// Messages in the core run.
    pub core_messages: usize,
    /// JetStream publish, waiting for each ack before the next.
    pub js_sync_rate: f64,
    /// JetStream publish with up to 256 acks outstanding.
    pub js_window_rate: f64,
    /// Messages in each JetStream run.
    pub js_messages: usize,
}

/// Measures core pub/sub and JetStream publish-with-ack on `url`.
pub async fn measure(
    url: &str,
    core_messages: usize,
    js_messages: usize,
) -> anyhow::Result<NatsRef> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let payload = Bytes::from(vec![b'x'; 100]);

    // Core NATS: separate publisher and subscriber connections.
    let subscriber = async_nats::ConnectOptions::new()
        .subscription_capacity(core_messages + 1024)
        .connect(url)
        .await?;
    let publisher = async_nats::connect(url).await?;
    let subject = format!("benchref.{run}.core");
    let mut sub = subscriber.subscribe(subject.clone()).await?;
    subscriber.flush().await?;
    let receive = tokio::spawn(async move {
        let mut got = 0usize;
        while got < core_messages {
            match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
                Ok(Some(_)) => got += 1,
                _ => break,
            }
        }
        (got, Instant::now())
    });
    let start = Instant::now();
    for _ in 0..core_messages {
        publisher.publish(subject.clone(), payload.clone()).await?;
    }
    publisher.flush().await?;
    let (got, end) = receive.await?;
    let core_rate = got as f64 / (end - start).as_secs_f64();

    // JetStream: a file-backed stream like Talk's.
    let js = jetstream::new(publisher.clone());
    let stream = format!("BENCHREF_{run}");
    let js_subject = format!("benchref.{run}.js");
    js.create_stream(jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![js_subject.clone()],
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .context("creating the reference stream")?;
    let start = Instant::now();
    for _ in 0..js_messages {
        js.publish(js_subject.clone(), payload.clone())
            .await?
            .await?;
    }
    let js_sync_rate = js_messages as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut acks = FuturesUnordered::new();
    for _ in 0..js_messages {
        if acks.len() >= 256
            && let Some(ack) = acks.next().await
        {
            ack?;
        }
        acks.push(
            js.publish(js_subject.clone(), payload.clone())
                .await?
                .into_future(),
        );
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    let js_window_rate = js_messages as f64 / start.elapsed().as_secs_f64();
    let _ = js.delete_stream(&stream).await;
    Ok(NatsRef {
        core_rate,
        core_messages: got,
        js_sync_rate,
        js_window_rate,
        js_messages,
    })
}
