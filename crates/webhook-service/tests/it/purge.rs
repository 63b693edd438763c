//! The log purge deletes finished deliveries past the cut-off, never a
//! pending one, a thousand (here: two) at a time.

use sea_orm::Database;
use talk_types::{CustomerId, time};
use webhook_service::db::entities::{delivery, endpoint};
use webhook_service::db::queries::{deliveries, endpoints};
use webhook_service::{DeliveryId, WebhookId};

fn delivery_of(endpoint: &endpoint::Model, status: &str, at: time::Timestamp) -> delivery::Model {
    delivery::Model {
        id: DeliveryId::new(),
        endpoint_id: endpoint.id,
        customer_id: endpoint.customer_id,
        message_id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
        event_type: "chatmessage_created".into(),
        event_seq: 1,
        body: "{}".into(),
        status: status.into(),
        attempts: 1,
        tm_next_attempt: (status == deliveries::PENDING).then_some(at),
        response_status: None,
        latency_ms: None,
        response_body: None,
        error: None,
        tm_create: at,
        tm_update: at,
    }
}

#[tokio::test]
async fn finished_deliveries_past_the_cut_off_are_purged_pending_ones_never() -> anyhow::Result<()>
{
    let url = talk_testkit::fresh_database().await?;
    let db = Database::connect(&url).await?;
    webhook_service::db::migration::run(&db).await?;
    let now = time::now();
    let old = now - chrono::Duration::days(40);
    let endpoint = endpoints::insert(
        &db,
        endpoint::Model {
            id: WebhookId::new(),
            customer_id: CustomerId::new(),
            url: "https://example.com/hook".into(),
            description: String::new(),
            event_types: String::new(),
            talk_ids: String::new(),
            naming: "voipbin".into(),
            secret: "whsec_AAAA".into(),
            previous_secret: None,
            tm_previous_secret_expire: None,
            disabled_reason: None,
            consecutive_failures: 0,
            tm_failing_since: None,
            tm_create: old,
            tm_update: old,
            agent_id: None,
            ordered: false,
        },
    )
    .await?;
    let rows = vec![
        delivery_of(&endpoint, deliveries::SUCCEEDED, old),
        delivery_of(&endpoint, deliveries::FAILED, old),
        delivery_of(&endpoint, deliveries::SUCCEEDED, old),
        delivery_of(&endpoint, deliveries::PENDING, old),
        delivery_of(&endpoint, deliveries::SUCCEEDED, now),
    ];
    deliveries::insert_many(&db, rows).await?;
    let cut = now - chrono::Duration::days(30);
    assert_eq!(deliveries::purge_finished(&db, cut, 2).await?, 2);
    assert_eq!(deliveries::purge_finished(&db, cut, 2).await?, 1);
    assert_eq!(deliveries::purge_finished(&db, cut, 2).await?, 0);
    let left = deliveries::page(&db, endpoint.customer_id, endpoint.id, None, 10).await?;
    let mut statuses: Vec<&str> = left.iter().map(|d| d.status.as_str()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [deliveries::PENDING, deliveries::SUCCEEDED]);
    db.close().await?;
    Ok(())
}
