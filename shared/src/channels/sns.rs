//! `sns`: every event published to a topic, with message attributes for subscription filter
//! policies (notification groups with no code) and a readable body for email subscribers.

use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use super::SendError;
use crate::event::{Event, one_line};

/// SNS subjects must be ASCII, without line breaks, under 100 characters.
const SUBJECT_MAX: usize = 99;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessage {
    pub subject: String,
    /// A `MessageStructure = json` document: `default` and per-protocol bodies.
    pub message: String,
    /// (name, data type, value)
    pub attributes: Vec<(&'static str, &'static str, String)>,
}

fn ascii_subject(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = match c {
            c if c.is_ascii_graphic() || c == ' ' => c,
            '\r' | '\n' | '\t' => ' ',
            '–' | '—' => '-',
            '‘' | '’' => '\'',
            '“' | '”' => '"',
            _ => continue,
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    let out = out.trim();
    // Must begin with a letter, number or punctuation mark.
    let out = if out.is_empty() {
        "statusrelay event"
    } else {
        out
    };
    if out.len() > SUBJECT_MAX {
        format!("{}...", &out[..SUBJECT_MAX - 3])
    } else {
        out.to_owned()
    }
}

fn headline(event: &Event) -> String {
    let what = match event.kind.as_str().split_once('.') {
        Some((entity, action)) => {
            let mut entity = entity.to_owned();
            entity[..1].make_ascii_uppercase();
            format!("{entity} {}", action.replace('_', " "))
        }
        None => event.kind.to_string(),
    };
    let subject = event
        .data
        .incident
        .as_ref()
        .map(|i| i.name.clone())
        .or_else(|| event.data.component.as_ref().map(|c| c.name.clone()))
        .unwrap_or_default();
    format!("[{}] {what}: {subject}", event.data.provider.name)
}

fn email_body(event: &Event) -> String {
    let mut lines = vec![headline(event), String::new()];
    if let Some(incident) = &event.data.incident {
        lines.push(format!(
            "Status: {}    Impact: {}",
            incident.status, incident.impact
        ));
        if !incident.components.is_empty() {
            let names: Vec<String> = incident
                .components
                .iter()
                .map(|c| format!("{} ({})", c.name, c.status))
                .collect();
            lines.push(format!("Components: {}", names.join(", ")));
        }
        if let (Some(from), Some(until)) = (incident.scheduled_for, incident.scheduled_until) {
            lines.push(format!(
                "Window: {} - {} UTC",
                from.format("%Y-%m-%d %H:%M"),
                until.format("%Y-%m-%d %H:%M")
            ));
        }
    }
    if let Some(component) = &event.data.component {
        let old = component
            .old_status
            .as_ref()
            .map_or("unknown", |s| s.as_str());
        lines.push(format!(
            "{}: {old} -> {}",
            component.name, component.new_status
        ));
    }
    if let Some(update) = &event.data.update {
        let when = update
            .created_at
            .map(|t| t.format(" (%Y-%m-%d %H:%M UTC)").to_string())
            .unwrap_or_default();
        lines.push(String::new());
        lines.push(format!("Update{when}:"));
        lines.push(
            update
                .body
                .replace("<br />", "\n")
                .replace("<br/>", "\n")
                .replace("<br>", "\n")
                .replace("\r\n", "\n"),
        );
    }
    lines.push(String::new());
    if let Some(url) = event.data.incident.as_ref().and_then(|i| i.url.as_deref()) {
        lines.push(url.to_owned());
    }
    lines.push(format!("Event {} {}", event.kind, event.id));
    lines.join("\n")
}

/// Builds the Publish request for an event (pure; golden-tested).
pub fn build_message(event: &Event, payload: &str) -> SnsMessage {
    let structure = serde_json::json!({
        "default": payload,
        "sqs": payload,
        "lambda": payload,
        "http": payload,
        "https": payload,
        "email-json": payload,
        "email": email_body(event),
    });
    let mut attributes = vec![
        ("event_type", "String", event.kind.as_str().to_owned()),
        ("provider", "String", event.data.provider.id.clone()),
    ];
    if let Some(kind) = event.entity_kind() {
        attributes.push(("kind", "String", kind.as_str().to_owned()));
    } else {
        attributes.push(("kind", "String", "component".to_owned()));
    }
    if let Some(incident) = &event.data.incident {
        attributes.push(("impact", "String", incident.impact.to_string()));
        attributes.push(("status", "String", incident.status.to_string()));
        let names: Vec<&str> = incident
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if !names.is_empty() {
            attributes.push((
                "components",
                "String.Array",
                serde_json::to_string(&names).expect("names serialize"),
            ));
        }
    }
    if let Some(component) = &event.data.component {
        attributes.push(("status", "String", component.new_status.to_string()));
        attributes.push((
            "components",
            "String.Array",
            serde_json::to_string(&[&component.name]).expect("names serialize"),
        ));
    }
    SnsMessage {
        subject: ascii_subject(&one_line(&headline(event), 200)),
        message: structure.to_string(),
        attributes,
    }
}

pub struct SnsTopic {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsTopic {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> SnsTopic {
        SnsTopic { client, topic_arn }
    }

    pub async fn send(&self, payload: &str) -> Result<(), SendError> {
        let event: Event = super::parse_recorded(payload)?;
        let message = build_message(&event, payload);
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(message.subject)
            .message(message.message)
            .message_structure("json");
        for (name, data_type, value) in message.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .expect("data type is set");
            request = request.message_attributes(name, attribute);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) => Err(classify(&err)),
        }
    }
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
) -> SendError {
    let reason = match err.as_service_error() {
        Some(service) => format!(
            "SNS {}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("")
        ),
        None => format!("SNS: {}", crate::sources::error_chain(err)),
    };
    let transient = match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "Throttled"
                    | "Throttling"
                    | "InternalError"
                    | "InternalFailure"
                    | "KMSThrottling"
                    | "ServiceUnavailable"
            )
        ),
        _ => false,
    };
    // A deleted topic or a role without sns:Publish is the destination failing, not the
    // message.
    let gone = matches!(
        err.as_service_error().and_then(|e| e.code()),
        Some("NotFound" | "AuthorizationError" | "InvalidClientTokenId")
    );
    if transient {
        SendError::transient(reason, None)
    } else if gone {
        SendError::gone(reason, None, None)
    } else {
        SendError::rejected(reason, None, None)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::event::{EventData, EventType, IncidentRef, ProviderRef, UpdateRef};
    use crate::model::AffectedComponent;

    fn event() -> Event {
        Event {
            kind: EventType::IncidentResolved,
            id: "evt_0123".into(),
            timestamp: Utc.with_ymd_and_hms(2026, 11, 20, 8, 20, 0).unwrap(),
            data: EventData {
                provider: ProviderRef {
                    id: "github".into(),
                    name: "GitHub".into(),
                    url: "https://www.githubstatus.com".into(),
                },
                incident: Some(IncidentRef {
                    id: "x1".into(),
                    name: "Git operations failing — ﾉ◕ヮ◕ﾉ\nfor some users".into(),
                    status: "resolved".into(),
                    impact: "major".into(),
                    url: Some("https://www.githubstatus.com/incidents/x1".into()),
                    components: vec![AffectedComponent {
                        id: "c1".into(),
                        name: "Git Operations".into(),
                        status: "operational".into(),
                    }],
                    created_at: None,
                    resolved_at: None,
                    scheduled_for: None,
                    scheduled_until: None,
                }),
                update: Some(UpdateRef {
                    id: "u4".into(),
                    status: "resolved".into(),
                    body: "Fixed.<br />All good.".into(),
                    created_at: Some(Utc.with_ymd_and_hms(2026, 11, 20, 8, 20, 0).unwrap()),
                }),
                component: None,
                moved: None,
                health: None,
            },
        }
    }

    #[test]
    fn message_golden() {
        let event = event();
        let payload = serde_json::to_string(&event).unwrap();
        let message = build_message(&event, &payload);
        assert_eq!(
            message.subject,
            "[GitHub] Incident resolved: Git operations failing - for some users"
        );
        let structure: serde_json::Value = serde_json::from_str(&message.message).unwrap();
        assert_eq!(structure["default"], payload.as_str());
        assert_eq!(structure["sqs"], payload.as_str());
        assert_eq!(
            structure["email"],
            "[GitHub] Incident resolved: Git operations failing — ﾉ◕ヮ◕ﾉ\nfor some users\n\nStatus: resolved    Impact: major\nComponents: Git Operations (operational)\n\nUpdate (2026-11-20 08:20 UTC):\nFixed.\nAll good.\n\nhttps://www.githubstatus.com/incidents/x1\nEvent incident.resolved evt_0123"
        );
        assert_eq!(
            message.attributes,
            vec![
                ("event_type", "String", "incident.resolved".to_owned()),
                ("provider", "String", "github".to_owned()),
                ("kind", "String", "incident".to_owned()),
                ("impact", "String", "major".to_owned()),
                ("status", "String", "resolved".to_owned()),
                (
                    "components",
                    "String.Array",
                    "[\"Git Operations\"]".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn subjects_are_ascii_and_short() {
        let long = "x".repeat(300);
        let subject = ascii_subject(&format!("[P] Incident created: {long}"));
        assert!(subject.len() <= SUBJECT_MAX && subject.ends_with("..."));
        assert_eq!(ascii_subject("ﾉ◕ヮ◕ﾉ"), "statusrelay event");
        assert!(!ascii_subject("a\r\nb").contains('\n'));
    }
}
