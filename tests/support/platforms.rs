//! One loopback server that behaves like the chat and paging platforms: it enforces their
//! documented limits, answers with their real success bodies, error codes and rate-limit
//! responses, and records what each message would have done (pings, visible text, threads).
//!
//! Paths: `/slack/services/..`, `/discord/api/webhooks/{id}/{token}`, `/teams/workflows/..`,
//! `/chat/v1/spaces/{space}/messages`, `/pagerduty/v2/enqueue` and `/v2/change/enqueue`,
//! `/telegram/bot{token}/sendMessage`, `/mattermost/hooks/{key}`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Value, json};

pub const TELEGRAM_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
pub const TELEGRAM_CHAT: i64 = -1001234567890;
pub const PAGERDUTY_KEY: &str = "R0UTINGKEY0123456789ABCDEFGHIJKL";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Slack,
    Discord,
    Teams,
    GoogleChat,
    PagerDuty,
    Telegram,
    Mattermost,
}

/// A scripted answer, taking the place of the platform's own for one request.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Scripted {
    pub fn new(status: u16, body: &str) -> Scripted {
        Scripted {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Scripted {
        self.headers.push((name, value.to_owned()));
        self
    }
}

#[derive(Clone, Debug)]
pub struct Message {
    pub kind: Kind,
    pub path: String,
    pub query: String,
    pub body: Value,
    pub bytes: usize,
    pub status: u16,
    /// Why the platform refused it (or, for Teams, why the flow run would fail).
    pub rejected: Option<String>,
    /// Everyone or someone this message would have notified.
    pub pings: Vec<String>,
    /// The text a reader sees, markup resolved.
    pub visible: String,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    messages: Vec<Message>,
    plans: HashMap<Kind, VecDeque<Scripted>>,
    /// PagerDuty alerts by dedup key: "triggered" or "resolved".
    alerts: HashMap<String, String>,
    change_events: usize,
    /// Google Chat thread names by thread key.
    threads: HashMap<String, String>,
}

#[derive(Clone)]
pub struct Platforms {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Platforms {
    pub async fn start() -> Platforms {
        let state = Arc::new(Mutex::new(State::default()));
        let handler_state = state.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = handler_state.clone();
            async move { handle(&state, &uri, &headers, &body) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Platforms { addr, state }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn slack_url(&self) -> String {
        format!(
            "{}/slack/services/T0001/B0001/XXXXSLACKSECRETXXXX",
            self.base()
        )
    }

    pub fn discord_url(&self) -> String {
        format!(
            "{}/discord/api/webhooks/1234567890/XXXXDISCORDSECRETXXXX",
            self.base()
        )
    }

    pub fn teams_url(&self) -> String {
        format!(
            "{}/teams/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=XXXXTEAMSSECRETXXXX",
            self.base()
        )
    }

    pub fn chat_url(&self) -> String {
        format!(
            "{}/chat/v1/spaces/AAAA1234/messages?key=AIzaXXXX&token=XXXXCHATSECRETXXXX",
            self.base()
        )
    }

    pub fn pagerduty_url(&self) -> String {
        format!("{}/pagerduty/v2/enqueue", self.base())
    }

    pub fn telegram_api(&self) -> String {
        format!("{}/telegram", self.base())
    }

    pub fn mattermost_url(&self) -> String {
        format!("{}/mattermost/hooks/XXXXMATTERMOSTSECRETXXXX", self.base())
    }

    /// Secret parts of the URLs above: none may appear in logs.
    pub fn secrets() -> [&'static str; 6] {
        [
            "XXXXSLACKSECRETXXXX",
            "XXXXDISCORDSECRETXXXX",
            "XXXXTEAMSSECRETXXXX",
            "XXXXCHATSECRETXXXX",
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "XXXXMATTERMOSTSECRETXXXX",
        ]
    }

    pub fn plan(&self, kind: Kind, answers: impl IntoIterator<Item = Scripted>) {
        self.state
            .lock()
            .unwrap()
            .plans
            .entry(kind)
            .or_default()
            .extend(answers);
    }

    pub fn messages(&self, kind: Kind) -> Vec<Message> {
        self.state
            .lock()
            .unwrap()
            .messages
            .iter()
            .filter(|m| m.kind == kind)
            .cloned()
            .collect()
    }

    /// Messages the platform accepted.
    pub fn accepted(&self, kind: Kind) -> Vec<Message> {
        self.messages(kind)
            .into_iter()
            .filter(|m| (200..300).contains(&m.status) && m.rejected.is_none())
            .collect()
    }

    pub fn alert(&self, dedup_key: &str) -> Option<String> {
        self.state.lock().unwrap().alerts.get(dedup_key).cloned()
    }

    pub fn change_events(&self) -> usize {
        self.state.lock().unwrap().change_events
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().messages.clear();
    }
}

fn respond(status: u16, headers: &[(&str, String)], body: String) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(Body::from(body)).unwrap()
}

struct Verdict {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    rejected: Option<String>,
    pings: Vec<String>,
    visible: String,
}

impl Verdict {
    fn ok(status: u16, body: impl Into<String>, pings: Vec<String>, visible: String) -> Verdict {
        Verdict {
            status,
            headers: Vec::new(),
            body: body.into(),
            rejected: None,
            pings,
            visible,
        }
    }

    fn refuse(status: u16, body: impl Into<String>, why: impl Into<String>) -> Verdict {
        Verdict {
            status,
            headers: Vec::new(),
            body: body.into(),
            rejected: Some(why.into()),
            pings: Vec::new(),
            visible: String::new(),
        }
    }
}

fn handle(state: &Mutex<State>, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    let kind = match path.split('/').nth(1).unwrap_or("") {
        "slack" => Kind::Slack,
        "discord" => Kind::Discord,
        "teams" => Kind::Teams,
        "chat" => Kind::GoogleChat,
        "pagerduty" => Kind::PagerDuty,
        "telegram" => Kind::Telegram,
        "mattermost" => Kind::Mattermost,
        _ => return respond(404, &[], "no such platform".into()),
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut guard = state.lock().unwrap();
    let scripted = guard.plans.get_mut(&kind).and_then(VecDeque::pop_front);
    let verdict = match (&scripted, &parsed) {
        (Some(answer), _) => Verdict {
            status: answer.status,
            headers: answer.headers.clone(),
            body: answer.body.clone(),
            rejected: (answer.status >= 300).then(|| format!("scripted {}", answer.status)),
            pings: Vec::new(),
            visible: String::new(),
        },
        (None, None) => match kind {
            Kind::Slack => Verdict::refuse(400, "invalid_payload", "not JSON"),
            Kind::Telegram => Verdict::refuse(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}"#,
                "not JSON",
            ),
            _ => Verdict::refuse(
                400,
                r#"{"message":"400: Bad Request","code":50109}"#,
                "not JSON",
            ),
        },
        (None, Some(json)) => {
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !content_type.starts_with("application/json") {
                Verdict::refuse(415, "", format!("content-type {content_type:?}"))
            } else {
                match kind {
                    Kind::Slack => slack(json),
                    Kind::Discord => discord(json, &query),
                    Kind::Teams => teams(json, body.len()),
                    Kind::GoogleChat => google_chat(&mut guard, json, &query, body.len()),
                    Kind::PagerDuty => pagerduty(&mut guard, json, &path),
                    Kind::Telegram => telegram(json, &path),
                    Kind::Mattermost => mattermost(json),
                }
            }
        }
    };
    guard.messages.push(Message {
        kind,
        path,
        query,
        body: parsed.unwrap_or(Value::Null),
        bytes: body.len(),
        status: verdict.status,
        rejected: verdict.rejected.clone(),
        pings: verdict.pings.clone(),
        visible: verdict.visible.clone(),
        at: Instant::now(),
    });
    respond(verdict.status, &verdict.headers, verdict.body)
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Slack markup: `<!channel>`, `<@U…>`, `<#C…>` notify; `<url|label>` is a link; entities
/// decode. Returns (visible text, pings), or why the text is malformed.
fn slack_markup(text: &str) -> (String, Vec<String>) {
    let mut visible = String::new();
    let mut pings = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        visible.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            visible.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        if inner.starts_with('!') || inner.starts_with('@') || inner.starts_with('#') {
            pings.push(inner.to_owned());
        }
        visible.push_str(inner.split_once('|').map_or(inner, |(_, label)| label));
        rest = &after[end + 1..];
    }
    visible.push_str(rest);
    let visible = visible
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (visible, pings)
}

fn slack(json: &Value) -> Verdict {
    let text = str_at(json, "/text");
    let blocks = json
        .get("blocks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if text.is_empty() && blocks.is_empty() {
        return Verdict::refuse(400, "missing_text_or_fallback_or_attachments", "no text");
    }
    if blocks.len() > 50 {
        return Verdict::refuse(400, "invalid_blocks", "more than 50 blocks");
    }
    // (text, is plain_text): plain text has no markup, so nothing in it notifies.
    let mut all = vec![(text.to_owned(), false)];
    for block in &blocks {
        let kind = str_at(block, "/type");
        let block_text = str_at(block, "/text/text");
        let limit = if kind == "header" { 150 } else { 3000 };
        if block_text.chars().count() > limit {
            return Verdict::refuse(400, "invalid_blocks", format!("{kind} text over {limit}"));
        }
        if kind == "header" && str_at(block, "/text/type") != "plain_text" {
            return Verdict::refuse(400, "invalid_blocks", "header must be plain_text");
        }
        all.push((
            block_text.to_owned(),
            str_at(block, "/text/type") == "plain_text",
        ));
        let fields = block
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if fields.len() > 10 {
            return Verdict::refuse(400, "invalid_blocks", "more than 10 fields");
        }
        for field in fields {
            let field_text = str_at(&field, "/text");
            if field_text.chars().count() > 2000 {
                return Verdict::refuse(400, "invalid_blocks", "field over 2000");
            }
            all.push((field_text.to_owned(), false));
        }
        for element in block
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            all.push((str_at(element, "/text").to_owned(), false));
        }
    }
    let total: usize = all.iter().map(|(t, _)| t.chars().count()).sum();
    if total > 12_000 {
        return Verdict::refuse(400, "msg_blocks_too_long", "cumulative text over ~12k");
    }
    let mut visible = Vec::new();
    let mut pings = Vec::new();
    for (part, plain) in &all {
        if *plain {
            visible.push(part.clone());
            continue;
        }
        let (text, found) = slack_markup(part);
        visible.push(text);
        pings.extend(found);
    }
    Verdict::ok(200, "ok", pings, visible.join("\n"))
}

fn discord(json: &Value, query: &str) -> Verdict {
    let invalid = |why: String| {
        Verdict::refuse(
            400,
            json!({"message": "Invalid Form Body", "code": 50035, "errors": {"embeds": why}})
                .to_string(),
            why,
        )
    };
    let embeds = json
        .get("embeds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let content = str_at(json, "/content");
    if embeds.is_empty() && content.is_empty() {
        return Verdict::refuse(
            400,
            r#"{"message": "Cannot send an empty message", "code": 50006}"#,
            "empty",
        );
    }
    if content.chars().count() > 2000 || embeds.len() > 10 {
        return invalid("content or embed count".into());
    }
    let count = |v: &Value, p: &str| str_at(v, p).trim().chars().count();
    let mut total = 0;
    let mut visible = vec![content.to_owned()];
    // Masked links render in descriptions and field values.
    let mut forged = Vec::new();
    for embed in &embeds {
        for (pointer, limit) in [
            ("/title", 256),
            ("/description", 4096),
            ("/footer/text", 2048),
            ("/author/name", 256),
        ] {
            let n = count(embed, pointer);
            if n > limit {
                return invalid(format!("{pointer} over {limit}"));
            }
            total += n;
            if pointer == "/description" {
                let (text, links) = markdown(str_at(embed, pointer));
                forged.extend(links);
                visible.push(text);
            } else {
                visible.push(str_at(embed, pointer).to_owned());
            }
        }
        let fields = embed
            .get("fields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if fields.len() > 25 {
            return invalid("more than 25 fields".into());
        }
        for field in &fields {
            let (name, value) = (count(field, "/name"), count(field, "/value"));
            if name > 256 || value > 1024 || name == 0 || value == 0 {
                return invalid("field name or value size".into());
            }
            total += name + value;
            let (value, links) = markdown(str_at(field, "/value"));
            forged.extend(links);
            visible.push(format!("{}: {value}", str_at(field, "/name")));
        }
    }
    if total > 6000 {
        return invalid(format!("embeds total {total} over 6000"));
    }
    // Mentions only notify from `content`, and only the types allowed_mentions parses
    // (webhooks default to users).
    let parse: Vec<String> = match json.pointer("/allowed_mentions/parse") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec!["users".into()],
    };
    let mut pings = forged;
    if parse.iter().any(|p| p == "everyone")
        && (content.contains("@everyone") || content.contains("@here"))
    {
        pings.push("@everyone".into());
    }
    if parse.iter().any(|p| p == "users") && content.contains("<@") {
        pings.push("user".into());
    }
    let wait = query.split('&').any(|p| p == "wait=true");
    let mut verdict = Verdict::ok(
        if wait { 200 } else { 204 },
        if wait {
            json!({"id": "1300000000000000000", "type": 0, "channel_id": "1", "embeds": embeds})
                .to_string()
        } else {
            String::new()
        },
        pings,
        visible.join("\n"),
    );
    verdict.headers = vec![
        ("x-ratelimit-limit", "5".into()),
        ("x-ratelimit-remaining", "4".into()),
        ("x-ratelimit-reset-after", "0.4".into()),
        ("x-ratelimit-bucket", "abcd1234".into()),
    ];
    verdict
}

fn teams(json: &Value, bytes: usize) -> Verdict {
    // A Workflows trigger accepts anything with 202; problems surface in the flow run, which
    // is what `rejected` records.
    let mut why = None;
    if str_at(json, "/type") != "message" {
        why = Some("Property 'type' must be 'message'".to_owned());
    }
    let card = json
        .pointer("/attachments/0/content")
        .cloned()
        .unwrap_or(Value::Null);
    if str_at(json, "/attachments/0/contentType") != "application/vnd.microsoft.card.adaptive" {
        why = Some("attachment is not an adaptive card".into());
    }
    if str_at(&card, "/type") != "AdaptiveCard" {
        why = Some("Property 'type' must be 'AdaptiveCard'".into());
    }
    let version: f64 = str_at(&card, "/version").parse().unwrap_or(99.0);
    if version > 1.4 {
        why = Some(format!("card version {version} above 1.4"));
    }
    if bytes > 28_672 {
        why = Some(format!(
            "MessageSizeExceeded: {bytes} bytes, max allowed size is 28672 bytes"
        ));
    }
    let mut visible = Vec::new();
    collect_texts(&card, &mut visible);
    Verdict {
        status: 202,
        headers: Vec::new(),
        body: String::new(),
        rejected: why,
        pings: Vec::new(),
        visible: visible.join("\n"),
    }
}

fn collect_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if matches!(key.as_str(), "text" | "title" | "value")
                    && let Some(text) = item.as_str()
                {
                    out.push(text.to_owned());
                    continue;
                }
                collect_texts(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_texts(item, out)),
        _ => {}
    }
}

fn google_chat(state: &mut State, json: &Value, query: &str, bytes: usize) -> Verdict {
    let error = |why: &str| {
        Verdict::refuse(
            400,
            json!({"error": {"code": 400, "message": why, "status": "INVALID_ARGUMENT"}})
                .to_string(),
            why,
        )
    };
    if bytes > 32_000 {
        return error("message too large");
    }
    if json
        .get("cardsV2")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
        && str_at(json, "/text").is_empty()
    {
        return error("Message cannot be empty.");
    }
    let thread_key = str_at(json, "/thread/threadKey").to_owned();
    if thread_key.chars().count() > 4000 {
        return error("threadKey too long");
    }
    let threaded = query.contains("messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
    let next = state.threads.len();
    let thread_name = if threaded && !thread_key.is_empty() {
        state
            .threads
            .entry(thread_key)
            .or_insert_with(|| format!("spaces/AAAA1234/threads/t{next}"))
            .clone()
    } else {
        format!("spaces/AAAA1234/threads/solo{}", state.messages.len())
    };
    let mut visible = Vec::new();
    collect_texts(json, &mut visible);
    let visible = visible.join("\n");
    // Widget text takes a small HTML subset; anything else is markup injected by the text.
    // (Header titles and button labels are plain text.)
    let mut formatted = Vec::new();
    for pointer in ["textParagraph", "decoratedText"] {
        collect_widget_texts(json, pointer, &mut formatted);
    }
    for text in &formatted {
        if let Some(tag) = html_tags(text)
            .into_iter()
            .find(|t| !["b", "i", "u", "s", "br", "a", "font"].contains(&t.as_str()))
        {
            return error(&format!("unsupported HTML tag <{tag}> in card text"));
        }
    }
    // `<users/all>` in the message text notifies the whole space.
    let pings = if str_at(json, "/text").contains("<users/all>") {
        vec!["users/all".to_owned()]
    } else {
        Vec::new()
    };
    Verdict::ok(
        200,
        json!({"name": format!("{thread_name}/messages/m{}", state.messages.len()), "thread": {"name": thread_name}}).to_string(),
        pings,
        visible.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"),
    )
}

fn collect_widget_texts(value: &Value, widget: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == widget
                    && let Some(text) = item.get("text").and_then(Value::as_str)
                {
                    out.push(text.to_owned());
                }
                collect_widget_texts(item, widget, out);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_widget_texts(item, widget, out)),
        _ => {}
    }
}

/// Names of the tags in a text (`<b>`, `</a>`, `<script src=…>` → b, a, script).
fn html_tags(text: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let name: String = after
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '!')
            .collect();
        if !name.is_empty() {
            tags.push(name.trim_end_matches('/').to_ascii_lowercase());
        }
        rest = after;
    }
    tags
}

fn pagerduty(state: &mut State, json: &Value, path: &str) -> Verdict {
    let invalid = |why: &str| {
        Verdict::refuse(
            400,
            json!({"status": "invalid event", "message": "Event object is invalid", "errors": [why]}).to_string(),
            why,
        )
    };
    if str_at(json, "/routing_key") != PAGERDUTY_KEY {
        return invalid("Invalid routing key");
    }
    if path.ends_with("/v2/change/enqueue") {
        if str_at(json, "/payload/summary").is_empty() {
            return invalid("'payload.summary' is missing");
        }
        state.change_events += 1;
        return Verdict::ok(
            202,
            json!({"status": "success", "message": "Change event processed"}).to_string(),
            vec![],
            str_at(json, "/payload/summary").into(),
        );
    }
    let action = str_at(json, "/event_action");
    let mut dedup_key = str_at(json, "/dedup_key").to_owned();
    match action {
        "trigger" => {
            let summary = str_at(json, "/payload/summary");
            if summary.is_empty() || str_at(json, "/payload/source").is_empty() {
                return invalid("'payload.summary' and 'payload.source' are required");
            }
            if summary.chars().count() > 1024 {
                return invalid("'payload.summary' is longer than 1024 characters");
            }
            if !["critical", "error", "warning", "info"]
                .contains(&str_at(json, "/payload/severity"))
            {
                return invalid("'payload.severity' is invalid");
            }
            if dedup_key.is_empty() {
                dedup_key = format!("generated-{}", state.alerts.len());
            }
        }
        "acknowledge" | "resolve" if dedup_key.is_empty() => {
            return invalid("'dedup_key' is required");
        }
        "acknowledge" | "resolve" => {}
        _ => return invalid("'event_action' is invalid"),
    }
    if dedup_key.len() > 255 {
        return invalid("'dedup_key' is too long");
    }
    match action {
        "trigger" => {
            state.alerts.insert(dedup_key.clone(), "triggered".into());
        }
        "resolve" => {
            // A resolve for an unknown key is silently ignored.
            if let Some(alert) = state.alerts.get_mut(&dedup_key) {
                *alert = "resolved".into();
            }
        }
        _ => {}
    }
    Verdict::ok(
        202,
        json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key})
            .to_string(),
        vec![],
        str_at(json, "/payload/summary").into(),
    )
}

/// Telegram's HTML mode: only its tags, only its entities, every other `<`/`&` an error.
fn telegram_html(text: &str) -> Result<String, String> {
    const TAGS: [&str; 15] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
    ];
    let mut visible = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '<' => {
                let rest = &text[i + 1..];
                let end = rest.find('>').ok_or_else(|| {
                    format!("can't parse entities: unclosed start tag at byte offset {i}")
                })?;
                let tag = &rest[..end];
                let (closing, name) = match tag.strip_prefix('/') {
                    Some(name) => (true, name.trim()),
                    None => (false, tag.split_whitespace().next().unwrap_or("")),
                };
                if !TAGS.contains(&name) {
                    return Err(format!(
                        "can't parse entities: unsupported start tag \"{name}\" at byte offset {i}"
                    ));
                }
                if closing {
                    if open.pop().as_deref() != Some(name) {
                        return Err(format!(
                            "can't parse entities: can't find end tag corresponding to start tag \"{name}\""
                        ));
                    }
                } else {
                    open.push(name.to_owned());
                }
                for _ in 0..=end {
                    chars.next();
                }
            }
            '&' => {
                let rest = &text[i..];
                let end = rest.find(';').filter(|e| *e <= 10).ok_or_else(|| {
                    format!("can't parse entities: unsupported entity at byte offset {i}")
                })?;
                let entity = &rest[..=end];
                let decoded = match entity {
                    "&lt;" => '<',
                    "&gt;" => '>',
                    "&amp;" => '&',
                    "&quot;" => '"',
                    _ => return Err(format!("can't parse entities: unsupported entity {entity}")),
                };
                visible.push(decoded);
                for _ in 0..end {
                    chars.next();
                }
            }
            '>' => {
                return Err(format!(
                    "can't parse entities: unexpected \">\" at byte offset {i}"
                ));
            }
            c => visible.push(c),
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!(
            "can't parse entities: can't find end tag corresponding to start tag \"{tag}\""
        ));
    }
    Ok(visible)
}

fn telegram(json: &Value, path: &str) -> Verdict {
    let error = |code: u16, description: &str| {
        Verdict::refuse(
            code,
            json!({"ok": false, "error_code": code, "description": description}).to_string(),
            description,
        )
    };
    if path != format!("/telegram/bot{TELEGRAM_TOKEN}/sendMessage") {
        return error(401, "Unauthorized");
    }
    let chat_ok = json.get("chat_id").and_then(Value::as_i64) == Some(TELEGRAM_CHAT)
        || json.get("chat_id").and_then(Value::as_str) == Some(&TELEGRAM_CHAT.to_string());
    if !chat_ok {
        return error(400, "Bad Request: chat not found");
    }
    let text = str_at(json, "/text");
    let visible = if str_at(json, "/parse_mode") == "HTML" {
        match telegram_html(text) {
            Ok(visible) => visible,
            Err(why) => return error(400, &format!("Bad Request: {why}")),
        }
    } else {
        text.to_owned()
    };
    let length = visible.encode_utf16().count();
    if visible.trim().is_empty() {
        return error(400, "Bad Request: message text is empty");
    }
    if length > 4096 {
        return error(400, "Bad Request: message is too long");
    }
    Verdict::ok(
        200,
        json!({"ok": true, "result": {"message_id": 1, "chat": {"id": TELEGRAM_CHAT}, "text": visible}}).to_string(),
        vec![],
        visible,
    )
}

fn mattermost(json: &Value) -> Verdict {
    let text = str_at(json, "/text");
    if text.chars().count() > 16_383 {
        return Verdict::refuse(
            400,
            r#"{"id":"web.incoming_webhook.text.length.app_error","status_code":400}"#,
            "text too long",
        );
    }
    let mut raw = vec![text.to_owned()];
    collect_texts(
        &json.get("attachments").cloned().unwrap_or(Value::Null),
        &mut raw,
    );
    let mut pings = Vec::new();
    let mut visible = Vec::new();
    for part in &raw {
        let (text, found) = mattermost_markup(part);
        visible.push(text);
        pings.extend(found);
    }
    Verdict::ok(200, "ok", pings, visible.join("\n"))
}

/// What Mattermost does with a string of an incoming webhook: its Slack compatibility turns
/// `<!channel>`, `<!here>`, `<!all>` into mentions, `<@U…>` into a user mention and
/// `<url|label>` into a link; then markdown renders `[label](url)` and `![alt](url)` as links
/// and images, `@channel`, `@all`, `@here` notify, and `\` escapes punctuation. Returns the
/// visible text and what it would do (mentions, and forged links as `link:url`).
/// Markdown as Mattermost and Discord render it: an unescaped `[label](url)` is a link (`!`
/// before it, an image), `\\` before punctuation shows the punctuation. Returns the visible
/// text and the forged links as `link:url`: links anywhere but the status pages of these
/// tests, which are all on 127.0.0.1 (our own "Read the full update" points there).
fn markdown(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let escaped = |i: usize| chars[..i].iter().rev().take_while(|&&c| c == '\\').count() % 2 == 1;
    let mut links = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c != '[' || escaped(i) {
            continue;
        }
        if let Some(close) = (i + 1..chars.len()).find(|&j| chars[j] == ']' && !escaped(j))
            && chars.get(close + 1) == Some(&'(')
        {
            let url: String = chars[close + 2..]
                .iter()
                .take_while(|&&c| c != ')')
                .collect();
            if !url.starts_with("http://127.0.0.1") {
                links.push(format!("link:{url}"));
            }
        }
    }
    let mut visible = String::new();
    let mut iter = chars.iter().peekable();
    while let Some(&c) = iter.next() {
        if c == '\\' && iter.peek().is_some_and(|c| c.is_ascii_punctuation()) {
            visible.extend(iter.next());
        } else {
            visible.push(c);
        }
    }
    (visible, links)
}

fn mattermost_markup(text: &str) -> (String, Vec<String>) {
    let mut found = Vec::new();
    let mut converted = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        converted.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            converted.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        match inner {
            "!channel" | "!here" | "!all" => converted.push_str(&format!("@{}", &inner[1..])),
            _ if inner.starts_with('@') || inner.starts_with("U0") => {
                found.push(format!("user {inner}"));
                converted.push_str(inner);
            }
            _ if inner.contains('|') => {
                let (url, label) = inner.split_once('|').unwrap();
                found.push(format!("link:{url}"));
                converted.push_str(label);
            }
            _ => converted.push_str(&rest[start..=start + end + 1]),
        }
        rest = &after[end + 1..];
    }
    converted.push_str(rest);
    let (visible, links) = markdown(&converted);
    found.extend(links);
    for mention in ["@channel", "@all", "@here"] {
        if visible.contains(mention) {
            found.push(mention.to_owned());
        }
    }
    (visible, found)
}
