//! Message rendering per channel: `Message::from_event` (HTML → text) plus the platform's body
//! builder, for an ordinary update and for a hostile one (50 KB of nested broken HTML).
//!
//! `cargo bench --bench render`

use std::hint::black_box;
use std::time::Instant;

use serde_json::json;
use statusrelay_core::channels::{
    discord, google_chat, mattermost, pagerduty, slack, teams, telegram,
};
use statusrelay_core::event::Event;
use statusrelay_core::render::Message;

fn event(title: &str, body: &str) -> Event {
    serde_json::from_value(json!({
        "type": "incident.updated",
        "id": "evt_0123456789abcdef0123456789abcdef",
        "timestamp": "2026-11-29T14:03:00Z",
        "data": {
            "provider": {"id": "github", "name": "GitHub", "url": "https://www.githubstatus.com"},
            "incident": {
                "id": "k7m2x9q4v1zd", "name": title, "status": "identified", "impact": "major",
                "url": "https://stspg.io/k7m2x9q4v1zd",
                "components": [{"id": "br0l2tvcx85d", "name": "Actions", "status": "partial_outage"},
                               {"id": "vg70hn9s2tyj", "name": "Pages", "status": "degraded_performance"}],
                "created_at": "2026-11-29T13:23:00Z", "resolved_at": null
            },
            "update": {"id": "p3x0d7n5c2wf", "status": "identified", "body": body, "created_at": "2026-11-29T14:03:00Z"}
        }
    }))
    .unwrap()
}

fn hostile_body() -> String {
    let chunk = "Broken <b>HTML <i>unclosed <a href='javascript:alert(1)'>click</a> <!here> <@U024BE7LH> \
                 @channel @all 🚀 e\u{301} 中文 &amp; &bogus; <table><tr><td>cell ";
    let mut body = String::from("<p>Start of the update.</p>");
    while body.len() < 50_000 {
        body.push_str(chunk);
    }
    body
}

/// A platform's body builder, serialized (typed bodies and `Value` bodies alike).
type Builder = fn(&Message) -> Vec<u8>;

fn json_bytes(body: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(body).unwrap()
}

fn main() {
    let builders: [(&str, Builder); 7] = [
        ("slack", |m| json_bytes(&slack::build_body(m))),
        ("discord", |m| json_bytes(&discord::build_body(m))),
        ("teams", |m| json_bytes(&teams::build_body(m))),
        ("google_chat", |m| json_bytes(&google_chat::build_body(m))),
        ("mattermost", |m| json_bytes(&mattermost::build_body(m))),
        ("telegram", |m| {
            json_bytes(&telegram::build_body("-1001234567890", None, m))
        }),
        ("pagerduty", |m| {
            json_bytes(&pagerduty::build_body(
                "R0UTINGKEY0123456789ABCDEFGHIJKL",
                pagerduty::Action::Trigger,
                m,
            ))
        }),
    ];
    let cases = [
        (
            "ordinary update (120 B)",
            event(
                "Incident with Actions",
                "We identified the cause.<br />A fix is rolling out; next update in 30 minutes.",
            ),
        ),
        (
            "hostile update (50 KB nested HTML)",
            event(
                "<!channel> @everyone <script>x</script> Ünïcödé 👩‍👩‍👧",
                &hostile_body(),
            ),
        ),
    ];
    println!("| case | channel | µs per message (render + body) | body bytes |");
    println!("|---|---|---|---|");
    for (case, event) in &cases {
        for (name, build) in builders {
            let runs = if case.starts_with("ordinary") {
                2000
            } else {
                20
            };
            let started = Instant::now();
            let mut bytes = 0;
            for _ in 0..runs {
                let message = Message::from_event(black_box(event));
                bytes = build(&message).len();
            }
            let micros = started.elapsed().as_secs_f64() * 1e6 / runs as f64;
            println!("| {case} | {name} | {micros:.0} | {bytes} |");
        }
    }
}
