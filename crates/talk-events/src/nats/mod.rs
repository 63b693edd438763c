//! The production bus: NATS JetStream. One stream keeps every event of a
//! deployment for the retention period; a subscription is an ordered push
//! consumer starting at a cursor (the stream sequence). The stream republishes
//! every event it stores on `<prefix>-live.<customer>.<talk>.<kind>` with its
//! sequence, which is what a push-gateway's [`Watch`] subscribes to, talk by talk.

mod watch;

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::bus::{Bus, BusError, Delivery, EventStream, Outgoing, Start};
use crate::memory::async_stream;
use crate::signal::{self, BoardChange, BoardStream, PRESENCE_TTL, Signal, SignalStream};
use crate::watch::Watch;

/// Settings of the JetStream bus.
#[derive(Clone, Debug)]
pub struct NatsSettings {
    /// Server URL.
    pub url: String,
    /// Stream name.
    pub stream: String,
    /// Subject prefix (the stream captures `<prefix>.>`).
    pub prefix: String,
    /// How long events are kept.
    pub retention: Duration,
    /// Stream replicas.
    pub replicas: usize,
}

/// JetStream-backed [`Bus`].
#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    settings: NatsSettings,
    stream: std::sync::Arc<OnceCell<stream::Stream>>,
    board: std::sync::Arc<OnceCell<stream::Stream>>,
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

impl NatsBus {
    /// Connects (retrying in the background when the server is down) and
    /// creates the stream if it can.
    pub async fn connect(settings: NatsSettings) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .connect(&settings.url)
            .await
            .map_err(unavailable)?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(Duration::from_secs(3));
        let bus = Self {
            client,
            js,
            settings,
            stream: Default::default(),
            board: Default::default(),
        };
        if let Err(e) = bus.stream().await {
            tracing::warn!(error = %e, "jetstream stream not ready yet; will retry");
        }
        Ok(bus)
    }

    /// The underlying client (for services that need core NATS).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Where the stream republishes its events for push-gateways.
    fn live_prefix(&self) -> String {
        format!("{}-live", self.settings.prefix)
    }

    async fn stream(&self) -> Result<&stream::Stream, BusError> {
        self.stream
            .get_or_try_init(|| async {
                let config = stream::Config {
                    name: self.settings.stream.clone(),
                    subjects: vec![format!("{}.>", self.settings.prefix)],
                    max_age: self.settings.retention,
                    duplicate_window: Duration::from_secs(120),
                    storage: stream::StorageType::File,
                    num_replicas: self.settings.replicas.max(1),
                    republish: Some(stream::Republish {
                        source: format!("{}.>", self.settings.prefix),
                        destination: format!("{}.>", self.live_prefix()),
                        headers_only: false,
                    }),
                    ..Default::default()
                };
                let mut stream = self
                    .js
                    .get_or_create_stream(config.clone())
                    .await
                    .map_err(unavailable)?;
                // A stream created by an earlier version lacks the republish.
                let info = stream.info().await.map_err(unavailable)?;
                if info.config.republish != config.republish {
                    self.js.update_stream(config).await.map_err(unavailable)?;
                }
                Ok(stream)
            })
            .await
    }

    /// The presence board: a stream of its own beside the events (in
    /// memory, one message per key, messages expiring after
    /// [`PRESENCE_TTL`]) — what a JetStream key-value bucket is, made by
    /// hand because async-nats' bucket creation fails on nats-server 2.9.
    /// An empty message is a deleted entry.
    async fn board(&self) -> Result<&stream::Stream, BusError> {
        self.board
            .get_or_try_init(|| async {
                let config = stream::Config {
                    name: format!("{}_presence", self.settings.stream),
                    subjects: vec![format!("{}.>", self.board_prefix())],
                    max_messages_per_subject: 1,
                    max_age: PRESENCE_TTL,
                    storage: stream::StorageType::Memory,
                    num_replicas: self.settings.replicas.max(1),
                    ..Default::default()
                };
                self.js
                    .get_or_create_stream(config)
                    .await
                    .map_err(unavailable)
            })
            .await
    }

    /// The board's subjects: `<prefix>-presence.<key>`.
    fn board_prefix(&self) -> String {
        format!("{}-presence", self.settings.prefix)
    }

    async fn board_publish(&self, key: &str, value: Bytes) -> Result<(), BusError> {
        self.board().await?;
        let subject = format!("{}.{key}", self.board_prefix());
        self.js
            .publish(subject, value)
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn bounds(&self) -> Result<(u64, u64), BusError> {
        let mut stream = self.stream().await?.clone();
        let info = stream.info().await.map_err(unavailable)?;
        Ok((info.state.first_sequence, info.state.last_sequence))
    }

    fn headers(event_id: &str, traceparent: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", event_id);
        if !traceparent.is_empty() {
            headers.insert("traceparent", traceparent);
        }
        headers
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(
        &self,
        subject: &str,
        event_id: &str,
        traceparent: &str,
        payload: Bytes,
    ) -> Result<u64, BusError> {
        self.stream().await?;
        let ack = self
            .js
            .publish_with_headers(
                subject.to_owned(),
                Self::headers(event_id, traceparent),
                payload,
            )
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        Ok(ack.sequence)
    }

    async fn publish_batch(&self, batch: Vec<Outgoing>) -> Result<(), (usize, BusError)> {
        self.stream().await.map_err(|e| (0, e))?;
        // Pipeline: send every event, then wait for the acks in order.
        let mut acks = Vec::with_capacity(batch.len());
        for event in batch {
            let sent = self
                .js
                .publish_with_headers(
                    event.subject,
                    Self::headers(&event.event_id, &event.traceparent),
                    event.payload,
                )
                .await;
            match sent {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    acks.truncate(0);
                    return Err((0, unavailable(e)));
                }
            }
        }
        for (done, ack) in acks.into_iter().enumerate() {
            ack.await.map_err(|e| (done, unavailable(e)))?;
        }
        Ok(())
    }

    async fn subscribe(&self, start: Start) -> Result<EventStream, BusError> {
        let deliver_policy = match start {
            Start::New => consumer::DeliverPolicy::New,
            Start::After(cursor) => {
                let (first, last) = self.bounds().await?;
                if cursor > last || cursor + 1 < first {
                    return Err(BusError::CursorExpired { cursor, first });
                }
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: cursor + 1,
                }
            }
        };
        let consumer = self
            .stream()
            .await?
            .create_consumer(consumer::push::OrderedConfig {
                deliver_subject: self.client.new_inbox(),
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let mut messages = consumer.messages().await.map_err(unavailable)?;
        Ok(async_stream(move |tx| async move {
            loop {
                let next = tokio::select! {
                    () = tx.closed() => return,
                    next = messages.next() => next,
                };
                let item = match next {
                    None => return,
                    Some(Err(e)) => Err(unavailable(e)),
                    Some(Ok(message)) => match message.info() {
                        Ok(info) => Delivery::decode(info.stream_sequence, &message.payload),
                        Err(e) => Err(BusError::Decode(e.to_string())),
                    },
                };
                let fatal = matches!(item, Err(BusError::Unavailable(_)));
                if tx.send(item).await.is_err() || fatal {
                    return;
                }
            }
        }))
    }

    async fn signal(&self, signal: &Signal) -> Result<(), BusError> {
        let subject = signal::subject(&self.settings.prefix, signal);
        let payload = Bytes::from(prost::Message::encode_to_vec(signal));
        // NATS core: no stream stores it, so nothing replays it.
        self.client
            .publish(subject, payload)
            .await
            .map_err(unavailable)
    }

    async fn signals(&self) -> Result<SignalStream, BusError> {
        let subscriber = self
            .client
            .subscribe(signal::all_subjects(&self.settings.prefix))
            .await
            .map_err(unavailable)?;
        Ok(Box::pin(subscriber.filter_map(|message| async move {
            <Signal as prost::Message>::decode(message.payload).ok()
        })))
    }

    async fn board_put(&self, key: &str, entry: &Signal) -> Result<(), BusError> {
        let value = Bytes::from(prost::Message::encode_to_vec(entry));
        self.board_publish(key, value).await
    }

    async fn board_delete(&self, key: &str) -> Result<(), BusError> {
        self.board_publish(key, Bytes::new()).await
    }

    async fn board_watch(&self) -> Result<BoardStream, BusError> {
        let consumer = self
            .board()
            .await?
            .create_consumer(consumer::push::OrderedConfig {
                deliver_subject: self.client.new_inbox(),
                deliver_policy: consumer::DeliverPolicy::LastPerSubject,
                filter_subject: format!("{}.>", self.board_prefix()),
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let messages = consumer.messages().await.map_err(unavailable)?;
        let prefix = format!("{}.", self.board_prefix());
        Ok(Box::pin(messages.filter_map(move |message| {
            let prefix = prefix.clone();
            async move {
                let message = message.ok()?;
                let key = message.subject.as_str().strip_prefix(&prefix)?.to_owned();
                let value = if message.payload.is_empty() {
                    None
                } else {
                    Some(<Signal as prost::Message>::decode(message.payload.clone()).ok()?)
                };
                Some(BoardChange { key, value })
            }
        })))
    }

    async fn last_seq(&self) -> Result<u64, BusError> {
        Ok(self.bounds().await?.1)
    }

    async fn watch(&self, after: u64) -> Result<Box<dyn Watch>, BusError> {
        self.stream().await?;
        Ok(Box::new(
            watch::NatsWatch::start(self.clone(), after).await?,
        ))
    }

    async fn ready(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
            && self.stream().await.is_ok()
    }
}
