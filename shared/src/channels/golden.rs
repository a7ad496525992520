//! Golden bodies: each platform's builder against a checked-in JSON file, for one ordinary
//! incident update. `UPDATE_GOLDEN=1 cargo test -p statusrelay-core golden` rewrites them
//! (review the diff: it is the message users will see).

use chrono::{TimeZone, Utc};
use serde_json::Value;

use super::{discord, google_chat, mattermost, pagerduty, slack, teams, telegram};
use crate::event::{Event, EventData, EventType, IncidentRef, ProviderRef, UpdateRef};
use crate::model::{AffectedComponent, ComponentStatus, Impact, IncidentStatus};
use crate::render::Message;

pub fn sample_event() -> Event {
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 14, 3, 0).unwrap();
    Event {
        kind: EventType::IncidentUpdated,
        id: "evt_0123456789abcdef0123456789abcdef".into(),
        timestamp: at,
        data: EventData {
            provider: ProviderRef {
                id: "github".into(),
                name: "GitHub".into(),
                url: "https://www.githubstatus.com".into(),
            },
            incident: Some(IncidentRef {
                id: "k7m2x9q4v1zd".into(),
                name: "Incident with Actions & Pages".into(),
                status: IncidentStatus::Identified,
                impact: Impact::Major,
                url: Some("https://stspg.io/k7m2x9q4v1zd".into()),
                components: vec![
                    AffectedComponent {
                        id: "br0l2tvcx85d".into(),
                        name: "Actions".into(),
                        status: ComponentStatus::PartialOutage,
                    },
                    AffectedComponent {
                        id: "vg70hn9s2tyj".into(),
                        name: "Pages".into(),
                        status: ComponentStatus::DegradedPerformance,
                    },
                ],
                created_at: Some(at - chrono::Duration::minutes(40)),
                resolved_at: None,
                scheduled_for: None,
                scheduled_until: None,
            }),
            update: Some(UpdateRef {
                id: "p3x0d7n5c2wf".into(),
                status: IncidentStatus::Identified,
                body: "We identified the cause: queued jobs <5% of runners.<br />A fix is rolling out; \
                       next update in 30 minutes."
                    .into(),
                created_at: Some(at),
            }),
            component: None,
            moved: None,
            health: None,
        },
    }
}

fn check(name: &str, body: &impl serde::Serialize) {
    let actual = &serde_json::to_value(body).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/channels/golden")
        .join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &pretty).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(
        actual,
        &expected,
        "{name}: body differs from {}:\n{pretty}",
        path.display()
    );
}

#[test]
fn bodies_match_golden_files() {
    let event = sample_event();
    let message = Message::from_event(&event);
    check("slack", &slack::build_body(&message));
    check("discord", &discord::build_body(&message));
    check("teams", &teams::build_body(&message));
    check("google_chat", &google_chat::build_body(&message));
    check("mattermost", &mattermost::build_body(&message));
    check(
        "telegram",
        &telegram::build_body("-1001234567890", Some(42), &message),
    );
    check(
        "pagerduty_trigger",
        &pagerduty::build_body(
            "R0UTINGKEY0123456789ABCDEFGHIJKL",
            pagerduty::Action::Trigger,
            &message,
        ),
    );
    let mut resolved = event.clone();
    resolved.kind = EventType::IncidentResolved;
    check(
        "pagerduty_resolve",
        &pagerduty::build_body(
            "R0UTINGKEY0123456789ABCDEFGHIJKL",
            pagerduty::action(&resolved).unwrap(),
            &Message::from_event(&resolved),
        ),
    );
}
