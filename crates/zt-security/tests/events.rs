#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The security event log: ordering, TTL, redaction, queries, alerting and
//! failure accounting.

use std::cell::RefCell;
use std::rc::Rc;

use async_trait::async_trait;
use edge_ports::testing::block_on;
use edge_ports::{
    AnalyticsError, AnalyticsSink, DataPoint, KvStore, ManualClock, MemoryAnalytics, MemoryKv,
    SeededRandom,
};
use zt_security::events::{
    AlertHook, EventKind, EventLog, EventLogConfig, EventQuery, EventSeverity, SecurityEvent,
};

const T0: u64 = 1_700_000_000_000;

#[derive(Clone, Default)]
struct Hook {
    seen: Rc<RefCell<Vec<SecurityEvent>>>,
    fail: bool,
}

#[async_trait(?Send)]
impl AlertHook for Hook {
    async fn alert(&self, event: &SecurityEvent) -> Result<(), String> {
        self.seen.borrow_mut().push(event.clone());
        if self.fail {
            Err("webhook returned 500".into())
        } else {
            Ok(())
        }
    }
}

struct BrokenSink;
impl AnalyticsSink for BrokenSink {
    fn write(&self, _: DataPoint) -> Result<(), AnalyticsError> {
        Err(AnalyticsError::Backend("binding missing".into()))
    }
}

fn ev(kind: EventKind, sev: EventSeverity, reason: &str) -> SecurityEvent {
    SecurityEvent::new(kind, sev, reason)
}

#[test]
fn events_list_newest_first_and_filter_by_time_kind_and_severity() {
    block_on(async {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let log = EventLog::new(
            kv.clone(),
            MemoryAnalytics::new(),
            clock.clone(),
            SeededRandom::new(1),
        );
        for i in 0..30u64 {
            let (kind, sev) = if i % 3 == 0 {
                (EventKind::ThreatBlocked, EventSeverity::High)
            } else {
                (EventKind::RateLimited, EventSeverity::Low)
            };
            log.record(ev(kind, sev, &format!("event {i}"))).await;
            clock.advance_ms(1_000);
        }
        let all = log.query(&EventQuery::default()).await.unwrap();
        assert_eq!(all.events.len(), 30);
        assert_eq!(all.events[0].reason, "event 29");
        assert!(all.events.windows(2).all(|w| w[0].ts_ms > w[1].ts_ms));

        let window = log
            .query(&EventQuery {
                since_ms: Some(T0 + 10_000),
                until_ms: Some(T0 + 19_000),
                ..EventQuery::default()
            })
            .await
            .unwrap();
        let reasons: Vec<_> = window.events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons.len(), 10);
        assert_eq!((reasons[0], reasons[9]), ("event 19", "event 10"));

        let threats = log
            .query(&EventQuery {
                min_severity: Some(EventSeverity::High),
                limit: Some(4),
                ..EventQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(threats.events.len(), 4);
        assert!(
            threats
                .events
                .iter()
                .all(|e| e.kind == EventKind::ThreatBlocked)
        );
        assert_eq!(threats.events[0].reason, "event 27");

        let kind = log
            .query(&EventQuery {
                kind: Some(EventKind::RateLimited),
                ..EventQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(kind.events.len(), 20);
    });
}

#[test]
fn events_expire_after_thirty_days() {
    block_on(async {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let log = EventLog::new(
            kv.clone(),
            MemoryAnalytics::new(),
            clock.clone(),
            SeededRandom::new(2),
        );
        let rec = log
            .record(ev(
                EventKind::AuthFailure,
                EventSeverity::Medium,
                "expired token",
            ))
            .await;
        clock.advance_secs(30 * 24 * 3600 - 1);
        assert!(kv.get(&rec.key).await.unwrap().is_some());
        clock.advance_secs(1);
        assert!(kv.get(&rec.key).await.unwrap().is_none());
    });
}

#[test]
fn pii_and_secrets_never_reach_kv_or_analytics() {
    block_on(async {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let analytics = MemoryAnalytics::new();
        let log = EventLog::new(kv.clone(), analytics.clone(), clock, SeededRandom::new(3))
            .with_config(EventLogConfig {
                pseudonym_key: Some(b"pseudonym-key-for-tests".to_vec()),
                ..EventLogConfig::default()
            });
        let secret = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd";
        let event = ev(
            EventKind::AuthFailure,
            EventSeverity::High,
            format!("bad key {secret}").as_str(),
        )
        .subject("alice@example.com")
        .client_ip("2001:db8:85a3:1234::8a2e:370:7334")
        .details(serde_json::json!({
            "authorization": format!("Bearer {secret}"),
            "card": "4111 1111 1111 1111",
            "tokens_generated": 42,
        }));
        let rec = log.record(event).await;
        assert!(rec.failures.is_empty());
        let stored = String::from_utf8(kv.get(&rec.key).await.unwrap().unwrap()).unwrap();
        let points = format!("{:?}", analytics.points());
        for leaked in [secret, "alice@example.com", "4111", "8a2e", "7334"] {
            assert!(!stored.contains(leaked), "{leaked} in {stored}");
            assert!(!points.contains(leaked), "{leaked} in {points}");
        }
        assert!(
            stored.contains("\"client_ip\":\"2001:db8:85a3::\""),
            "{stored}"
        );
        assert!(stored.contains("pseudonym:"), "{stored}");
        assert!(stored.contains("\"tokens_generated\":42"), "{stored}");
        // The same subject always maps to the same pseudonym.
        let again = log
            .record(
                ev(EventKind::AuthFailure, EventSeverity::Low, "x").subject("alice@example.com"),
            )
            .await;
        assert_eq!(again.event.subject, rec.event.subject);
    });
}

#[test]
fn high_severity_alerts_and_failures_are_counted_not_dropped() {
    block_on(async {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let hook = Hook::default();
        let log = EventLog::new(
            kv.clone(),
            MemoryAnalytics::new(),
            clock.clone(),
            SeededRandom::new(4),
        )
        .with_alert_hook(hook.clone());
        assert!(
            !log.record(ev(EventKind::RateLimited, EventSeverity::Low, "burst"))
                .await
                .alerted
        );
        assert!(
            log.record(ev(EventKind::ThreatBlocked, EventSeverity::High, "xss"))
                .await
                .alerted
        );
        assert_eq!(hook.seen.borrow().len(), 1);

        let failing = Hook {
            fail: true,
            ..Hook::default()
        };
        let log = EventLog::new(kv.clone(), BrokenSink, clock, SeededRandom::new(5))
            .with_alert_hook(failing.clone());
        let rec = log
            .record(ev(
                EventKind::ThreatBlocked,
                EventSeverity::Critical,
                "sqli",
            ))
            .await;
        let sinks: Vec<_> = rec.failures.iter().map(|f| f.sink).collect();
        assert_eq!(sinks, ["analytics", "alert"]);
        assert_eq!(log.failure_count(), 2);
        // KV still has it, and the hook was still called.
        assert!(kv.get(&rec.key).await.unwrap().is_some());
        assert_eq!(failing.seen.borrow().len(), 1);
    });
}

#[test]
fn concurrent_writers_in_the_same_millisecond_do_not_collide() {
    block_on(async {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let a = EventLog::new(
            kv.clone(),
            MemoryAnalytics::new(),
            clock.clone(),
            SeededRandom::new(10),
        );
        let b = EventLog::new(
            kv.clone(),
            MemoryAnalytics::new(),
            clock.clone(),
            SeededRandom::new(11),
        );
        let ka = a
            .record(ev(EventKind::GeoBlocked, EventSeverity::Low, "a"))
            .await
            .key;
        let kb = b
            .record(ev(EventKind::GeoBlocked, EventSeverity::Low, "b"))
            .await
            .key;
        assert_ne!(ka, kb);
        assert_eq!(
            a.query(&EventQuery::default()).await.unwrap().events.len(),
            2
        );
    });
}

/// Issue 20: with a keyring, `details` are sealed in KV (bound to the event
/// id) and opened again by queries; without the key they stay sealed.
#[test]
fn details_are_sealed_at_rest_and_opened_by_queries() {
    use zt_security::envelope::Keyring;
    block_on(async {
        let clock = ManualClock::new(T0);
        let kv = MemoryKv::new(clock.clone());
        let ring = Keyring::from_json(
            r#"{"active": 7, "keys": {"7": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}}"#,
        )
        .unwrap();
        let config = EventLogConfig {
            details_keyring: Some(ring),
            ..EventLogConfig::default()
        };
        let log = EventLog::new(
            kv.clone(),
            MemoryAnalytics::new(),
            clock.clone(),
            SeededRandom::new(3),
        )
        .with_config(config);
        let rec = log
            .record(
                ev(EventKind::ThreatBlocked, EventSeverity::High, "sqli").details(
                    serde_json::json!({"inputs": ["query:q (sqli-union) DETAIL-PLANTED"]}),
                ),
            )
            .await;
        let stored = String::from_utf8(kv.get(&rec.key).await.unwrap().unwrap()).unwrap();
        assert!(!stored.contains("DETAIL-PLANTED"), "{stored}");
        assert!(stored.contains("sealed:v1:"), "{stored}");
        let page = log.query(&EventQuery::default()).await.unwrap();
        assert_eq!(
            page.events[0].details["inputs"][0],
            "query:q (sqli-union) DETAIL-PLANTED"
        );
        // Without the key the details stay sealed, the rest is readable.
        let keyless = EventLog::new(
            kv.clone(),
            MemoryAnalytics::new(),
            clock.clone(),
            SeededRandom::new(4),
        );
        let page = keyless.query(&EventQuery::default()).await.unwrap();
        assert!(
            page.events[0]
                .details
                .as_str()
                .unwrap()
                .starts_with("sealed:v1:")
        );
        assert_eq!(page.events[0].reason, "sqli");
    });
}
