//! The bus's ephemeral side on real NATS: signals go to every subscriber
//! and are never in the stream; the presence board shows what is on it,
//! then its changes.

use std::time::Duration;

use futures_util::StreamExt;
use talk_events::signal::BoardChange;
use talk_events::{Bus, Signal};

use crate::support::nats_bus;

fn signal(state: &str) -> Signal {
    Signal {
        kind: "presence".into(),
        customer_id: "c".into(),
        agent_id: "a".into(),
        talk_ids: vec!["t".into()],
        state: state.into(),
        data: String::new(),
        occurred_at: 1,
    }
}

async fn next(board: &mut talk_events::signal::BoardStream) -> Option<BoardChange> {
    tokio::time::timeout(Duration::from_secs(5), board.next())
        .await
        .expect("in time")
}

#[tokio::test]
async fn signals_reach_subscribers_and_are_not_stored() {
    let (bus, _, _) = nats_bus().await;
    let mut heard = bus.signals().await.expect("subscribe");
    let before = bus.last_seq().await.expect("last seq");
    bus.signal(&signal("online")).await.expect("publish");
    let got = tokio::time::timeout(Duration::from_secs(5), heard.next())
        .await
        .expect("in time");
    assert_eq!(got, Some(signal("online")));
    assert_eq!(
        bus.last_seq().await.expect("last seq"),
        before,
        "not stored"
    );
}

#[tokio::test]
async fn the_board_shows_its_entries_then_its_changes() {
    let (bus, _, _) = nats_bus().await;
    bus.board_put("c.a.g1", &signal("online"))
        .await
        .expect("put");
    let mut board = bus.board_watch().await.expect("watch");
    assert_eq!(
        next(&mut board).await,
        Some(BoardChange {
            key: "c.a.g1".into(),
            value: Some(signal("online"))
        })
    );
    bus.board_put("c.a.g2", &signal("away")).await.expect("put");
    assert_eq!(
        next(&mut board).await.map(|c| c.value),
        Some(Some(signal("away")))
    );
    bus.board_delete("c.a.g1").await.expect("delete");
    assert_eq!(
        next(&mut board).await,
        Some(BoardChange {
            key: "c.a.g1".into(),
            value: None
        })
    );
}
