//! One message for many events of one provider's poll: a page migrated to another platform,
//! components renamed en masse, a vendor backfilling forty old incidents. People get one
//! digest listing what happened instead of forty messages (machines still get every event).

use std::collections::BTreeMap;

use super::{Message, Tone};
use crate::event::Event;

/// Lines listed in a digest; the rest is counted.
const LISTED_MAX: usize = 50;

impl Message {
    /// The digest of `events` (one provider's, in order), or `None` for no events.
    pub fn digest(events: &[Event]) -> Option<Message> {
        let first = events.first()?;
        let messages: Vec<Message> = events.iter().map(Message::from_event).collect();
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for message in &messages {
            *counts.entry(message.action).or_default() += 1;
        }
        let status = counts
            .iter()
            .map(|(action, n)| format!("{n} × {}", action.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut body: Vec<String> = messages
            .iter()
            .take(LISTED_MAX)
            .map(|m| {
                if m.status.is_empty() {
                    format!("• {}: {}", m.action, m.title)
                } else {
                    format!("• {}: {} ({})", m.action, m.title, m.status)
                }
            })
            .collect();
        if messages.len() > LISTED_MAX {
            body.push(format!("… and {} more", messages.len() - LISTED_MAX));
        }
        let head = &messages[0];
        Some(Message {
            action: "Many changes at once",
            provider: head.provider.clone(),
            provider_id: head.provider_id.clone(),
            title: format!("{} changes in one poll", events.len()),
            status,
            impact: None,
            tone: worst_tone(messages.iter().map(|m| m.tone)),
            components: Vec::new(),
            body: body.join("\n"),
            url: first.data.provider.url.clone(),
            time: messages.iter().map(|m| m.time).max().unwrap_or(head.time),
            window: None,
            thread_key: format!("{}/digest", head.provider_id),
            kind: first.kind,
        })
    }
}

/// The most alarming tone among the events: a digest with one outage in it is an outage.
fn worst_tone(tones: impl Iterator<Item = Tone>) -> Tone {
    let rank = |tone: &Tone| match tone {
        Tone::Critical => 5,
        Tone::Major => 4,
        Tone::Minor => 3,
        Tone::Maintenance => 2,
        Tone::Info => 1,
        Tone::Resolved => 0,
    };
    tones.max_by_key(rank).unwrap_or(Tone::Info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::golden::sample_event;
    use crate::event::EventType;

    #[test]
    fn lists_and_counts_what_happened() {
        let mut events = Vec::new();
        for n in 0..60 {
            let mut event = sample_event();
            event.id = format!("evt_{n}");
            if n % 2 == 0 {
                event.kind = EventType::IncidentResolved;
            }
            events.push(event);
        }
        let digest = Message::digest(&events).unwrap();
        assert_eq!(digest.title, "60 changes in one poll");
        assert_eq!(
            digest.status,
            "30 × incident resolved, 30 × incident updated"
        );
        assert_eq!(digest.tone, Tone::Major, "the worst tone wins");
        assert_eq!(digest.body.lines().count(), LISTED_MAX + 1);
        assert!(digest.body.ends_with("… and 10 more"), "{}", digest.body);
        assert_eq!(digest.url, "https://www.githubstatus.com");
        assert!(Message::digest(&[]).is_none());
    }
}
