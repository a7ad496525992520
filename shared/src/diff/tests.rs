use chrono::TimeZone;

use super::*;
use crate::model::{Component, Impact, IncidentUpdate};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, minute, 0).unwrap()
}

fn provider() -> Provider {
    Provider {
        id: "acme".into(),
        name: "Acme".into(),
        url: "https://status.acme.test".into(),
    }
}

fn update(id: &str, status: &str, minute: u32) -> IncidentUpdate {
    IncidentUpdate {
        id: id.into(),
        status: status.into(),
        body: format!("body of {id}"),
        created_at: Some(at(minute)),
        alias: None,
    }
}

fn incident(id: &str, updates: Vec<IncidentUpdate>) -> Incident {
    let status = updates.last().map(|u| u.status.clone()).unwrap();
    Incident {
        id: id.into(),
        name: format!("Incident {id}"),
        status,
        impact: Impact::Minor,
        url: None,
        components: vec![],
        created_at: updates.first().and_then(|u| u.created_at),
        updated_at: updates.last().and_then(|u| u.created_at),
        resolved_at: None,
        scheduled_for: None,
        scheduled_until: None,
        updates,
    }
}

fn component(id: &str, status: &str) -> Component {
    Component {
        id: id.into(),
        name: format!("Component {id}"),
        status: status.into(),
        is_group: false,
        group_id: None,
        position: None,
        updated_at: None,
    }
}

fn snapshot(incidents: Vec<Incident>) -> Snapshot {
    Snapshot {
        incidents,
        ..Snapshot::default()
    }
}

fn kinds(changes: &Changes) -> Vec<(String, &'static str)> {
    changes
        .events
        .iter()
        .map(|e| {
            let what = e
                .data
                .update
                .as_ref()
                .map(|u| u.id.clone())
                .or_else(|| e.data.component.as_ref().map(|c| c.id.clone()))
                .unwrap_or_default();
            (what, e.kind.as_str())
        })
        .collect()
}

fn pairs(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    list.iter().map(|(a, b)| (a.to_string(), *b)).collect()
}

fn baseline_of(snap: &Snapshot) -> ProviderState {
    detect_changes(&provider(), &ProviderState::default(), snap, at(30)).state
}

#[test]
fn baseline_announces_open_incidents_once_and_keeps_history_silent() {
    let snap = Snapshot {
        components: vec![component("c1", "major_outage")],
        ..snapshot(vec![
            incident(
                "old",
                vec![
                    update("o1", "investigating", 1),
                    update("o2", "resolved", 2),
                ],
            ),
            incident(
                "open",
                vec![
                    update("a1", "investigating", 3),
                    update("a2", "identified", 4),
                ],
            ),
        ])
    };
    let changes = detect_changes(&provider(), &ProviderState::default(), &snap, at(30));
    assert_eq!(kinds(&changes), pairs(&[("a2", "incident.created")]));

    let again = detect_changes(&provider(), &changes.state, &snap, at(31));
    assert!(
        again.events.is_empty(),
        "an unchanged page must emit nothing"
    );
}

#[test]
fn lifecycle_emits_one_event_per_new_update_in_order() {
    let state = baseline_of(&snapshot(vec![]));
    let step1 = snapshot(vec![incident("i", vec![update("u1", "investigating", 31)])]);
    let c1 = detect_changes(&provider(), &state, &step1, at(32));
    assert_eq!(kinds(&c1), pairs(&[("u1", "incident.created")]));

    let step2 = snapshot(vec![incident(
        "i",
        vec![
            update("u1", "investigating", 31),
            update("u2", "identified", 33),
            update("u3", "monitoring", 34),
        ],
    )]);
    let c2 = detect_changes(&provider(), &c1.state, &step2, at(35));
    assert_eq!(
        kinds(&c2),
        pairs(&[("u2", "incident.updated"), ("u3", "incident.updated")])
    );

    let mut step3 = step2.clone();
    step3.incidents[0]
        .updates
        .push(update("u4", "resolved", 40));
    step3.incidents[0].status = IncidentStatus::Resolved;
    let c3 = detect_changes(&provider(), &c2.state, &step3, at(41));
    assert_eq!(kinds(&c3), pairs(&[("u4", "incident.resolved")]));

    let mut step4 = step3.clone();
    step4.incidents[0]
        .updates
        .push(update("u5", "postmortem", 50));
    step4.incidents[0].status = IncidentStatus::Postmortem;
    let c4 = detect_changes(&provider(), &c3.state, &step4, at(51));
    assert_eq!(kinds(&c4), pairs(&[("u5", "incident.postmortem")]));
    assert!(
        detect_changes(&provider(), &c4.state, &step4, at(52))
            .events
            .is_empty()
    );
}

#[test]
fn updates_listed_newest_first_are_still_replayed_oldest_first() {
    // The source module sorts; the diff relies on that order, so check the contract here too.
    let state = baseline_of(&snapshot(vec![]));
    let snap = snapshot(vec![incident(
        "i",
        vec![
            update("u1", "investigating", 31),
            update("u2", "resolved", 32),
        ],
    )]);
    let changes = detect_changes(&provider(), &state, &snap, at(33));
    assert_eq!(
        kinds(&changes),
        pairs(&[("u1", "incident.created"), ("u2", "incident.resolved")])
    );
}

#[test]
fn incident_first_seen_resolved_after_baseline_gets_created_then_resolved() {
    let state = baseline_of(&snapshot(vec![]));
    let snap = snapshot(vec![incident("fast", vec![update("f1", "resolved", 40)])]);
    let changes = detect_changes(&provider(), &state, &snap, at(41));
    assert_eq!(
        kinds(&changes),
        pairs(&[("f1", "incident.created"), ("f1", "incident.resolved")])
    );
    assert_ne!(changes.events[0].id, changes.events[1].id);
}

#[test]
fn history_sliding_into_the_capped_list_stays_silent() {
    let state = baseline_of(&snapshot(vec![]));
    // Resolved weeks before the baseline: it only appears because a newer incident was
    // deleted and the 50-item window moved.
    let mut ancient = incident(
        "ancient",
        vec![
            update("x1", "investigating", 1),
            update("x2", "resolved", 2),
        ],
    );
    let twenty_days_earlier = |t: Option<DateTime<Utc>>| t.map(|t| t - Duration::days(20));
    for u in &mut ancient.updates {
        u.created_at = twenty_days_earlier(u.created_at);
    }
    ancient.created_at = twenty_days_earlier(ancient.created_at);
    ancient.updated_at = twenty_days_earlier(ancient.updated_at);
    let changes = detect_changes(&provider(), &state, &snapshot(vec![ancient]), at(45));
    assert!(changes.events.is_empty());
    assert!(changes.state.entities.contains_key("incident:ancient"));

    // Backfilled an hour before the baseline: still news.
    let recent = incident("backfill", vec![update("y1", "resolved", 1)]);
    let changes = detect_changes(&provider(), &state, &snapshot(vec![recent]), at(45));
    assert_eq!(
        kinds(&changes),
        pairs(&[("y1", "incident.created"), ("y1", "incident.resolved")])
    );
}

#[test]
fn absent_incident_stays_open_and_resolves_only_on_evidence() {
    let state = baseline_of(&snapshot(vec![]));
    let open = snapshot(vec![incident("i", vec![update("u1", "investigating", 31)])]);
    let c1 = detect_changes(&provider(), &state, &open, at(32));
    let gone = detect_changes(&provider(), &c1.state, &snapshot(vec![]), at(33));
    assert!(gone.events.is_empty(), "absence is not a resolution");
    assert_eq!(gone.state.entities["incident:i"].phase, Phase::Open);

    let back = snapshot(vec![incident(
        "i",
        vec![
            update("u1", "investigating", 31),
            update("u2", "resolved", 34),
        ],
    )]);
    let c3 = detect_changes(&provider(), &gone.state, &back, at(35));
    assert_eq!(kinds(&c3), pairs(&[("u2", "incident.resolved")]));
}

#[test]
fn status_change_without_update_is_evidence() {
    let state = baseline_of(&snapshot(vec![]));
    let mut snap = snapshot(vec![incident("i", vec![update("u1", "resolved", 31)])]);
    let c1 = detect_changes(&provider(), &state, &snap, at(32));
    snap.incidents[0].status = IncidentStatus::Postmortem;
    let c2 = detect_changes(&provider(), &c1.state, &snap, at(33));
    assert_eq!(c2.events.len(), 1);
    assert_eq!(c2.events[0].kind, EventType::IncidentPostmortem);
    assert!(c2.events[0].data.update.is_none());
    assert!(
        detect_changes(&provider(), &c2.state, &snap, at(34))
            .events
            .is_empty()
    );
}

#[test]
fn reopened_incident_resolves_again() {
    let state = baseline_of(&snapshot(vec![]));
    let mut inc = incident(
        "i",
        vec![
            update("u1", "investigating", 31),
            update("u2", "resolved", 32),
        ],
    );
    let c1 = detect_changes(&provider(), &state, &snapshot(vec![inc.clone()]), at(33));
    inc.updates.push(update("u3", "investigating", 34));
    inc.updates.push(update("u4", "resolved", 35));
    inc.updates.push(update("u5", "resolved", 36));
    inc.status = IncidentStatus::Resolved;
    let c2 = detect_changes(&provider(), &c1.state, &snapshot(vec![inc]), at(37));
    assert_eq!(
        kinds(&c2),
        pairs(&[
            ("u3", "incident.updated"),
            ("u4", "incident.resolved"),
            ("u5", "incident.updated"),
        ])
    );
}

#[test]
fn maintenance_lifecycle() {
    let state = baseline_of(&snapshot(vec![]));
    let mut maint = incident("m", vec![update("m1", "scheduled", 31)]);
    maint.impact = Impact::Maintenance;
    let snap = |m: &Incident| Snapshot {
        maintenances: vec![m.clone()],
        ..Snapshot::default()
    };
    let c1 = detect_changes(&provider(), &state, &snap(&maint), at(32));
    assert_eq!(kinds(&c1), pairs(&[("m1", "maintenance.scheduled")]));

    maint.updates.push(update("m2", "in_progress", 40));
    maint.updates.push(update("m3", "verifying", 41));
    maint.status = IncidentStatus::Verifying;
    let c2 = detect_changes(&provider(), &c1.state, &snap(&maint), at(42));
    assert_eq!(
        kinds(&c2),
        pairs(&[("m2", "maintenance.started"), ("m3", "maintenance.updated")])
    );

    maint.updates.push(update("m4", "completed", 50));
    maint.status = IncidentStatus::Completed;
    let c3 = detect_changes(&provider(), &c2.state, &snap(&maint), at(51));
    assert_eq!(kinds(&c3), pairs(&[("m4", "maintenance.completed")]));
}

#[test]
fn baseline_announces_running_maintenance_as_started() {
    let mut maint = incident(
        "m",
        vec![update("m1", "scheduled", 1), update("m2", "in_progress", 2)],
    );
    maint.status = IncidentStatus::InProgress;
    let snap = Snapshot {
        maintenances: vec![maint],
        ..Snapshot::default()
    };
    let changes = detect_changes(&provider(), &ProviderState::default(), &snap, at(30));
    assert_eq!(kinds(&changes), pairs(&[("m2", "maintenance.started")]));
}

#[test]
fn component_changes_after_baseline_only() {
    let snap = |status: &str| Snapshot {
        components: vec![component("c1", status), {
            let mut group = component("g1", "major_outage");
            group.is_group = true;
            group
        }],
        ..Snapshot::default()
    };
    let c0 = detect_changes(
        &provider(),
        &ProviderState::default(),
        &snap("partial_outage"),
        at(30),
    );
    assert!(c0.events.is_empty(), "baseline emits no component events");
    let c1 = detect_changes(&provider(), &c0.state, &snap("operational"), at(31));
    assert_eq!(c1.events.len(), 1);
    let change = c1.events[0].data.component.as_ref().unwrap();
    assert_eq!(change.old_status, Some(ComponentStatus::PartialOutage));
    assert_eq!(change.new_status, ComponentStatus::Operational);
    assert!(
        detect_changes(&provider(), &c1.state, &snap("operational"), at(32))
            .events
            .is_empty()
    );

    // The same transition on another day is a different event.
    let c2 = detect_changes(&provider(), &c1.state, &snap("partial_outage"), at(33));
    let c3 = detect_changes(&provider(), &c2.state, &snap("operational"), at(34));
    assert_eq!(c3.events.len(), 1);
    assert_ne!(c3.events[0].id, c1.events[0].id);
}

#[test]
fn events_interleave_across_incidents_by_time() {
    let state = baseline_of(&snapshot(vec![]));
    let snap = snapshot(vec![
        incident(
            "a",
            vec![
                update("a1", "investigating", 31),
                update("a2", "resolved", 40),
            ],
        ),
        incident("b", vec![update("b1", "investigating", 35)]),
    ]);
    let changes = detect_changes(&provider(), &state, &snap, at(41));
    assert_eq!(
        kinds(&changes),
        pairs(&[
            ("a1", "incident.created"),
            ("b1", "incident.created"),
            ("a2", "incident.resolved"),
        ])
    );
}

#[test]
fn event_ids_survive_a_rerun_of_the_same_diff() {
    let state = baseline_of(&snapshot(vec![]));
    let snap = snapshot(vec![incident("i", vec![update("u1", "investigating", 31)])]);
    let first = detect_changes(&provider(), &state, &snap, at(32));
    let rerun = detect_changes(&provider(), &state, &snap, at(33));
    assert_eq!(first.events, rerun.events);
}

#[test]
fn records_gone_for_months_are_forgotten() {
    let state = baseline_of(&snapshot(vec![incident(
        "i",
        vec![update("u1", "resolved", 1)],
    )]));
    let later = at(30) + Duration::days(FORGET_ABSENT_AFTER_DAYS + 1);
    let changes = detect_changes(&provider(), &state, &snapshot(vec![]), later);
    assert!(changes.state.entities.is_empty());
}

#[test]
fn known_after_is_the_state_detect_changes_reaches() {
    let mut maintenance = incident(
        "m",
        vec![
            update("m1", "scheduled", 31),
            update("m2", "in_progress", 40),
        ],
    );
    maintenance.impact = Impact::Maintenance;
    let mut postmortem = incident("p", vec![update("p1", "resolved", 20)]);
    postmortem.status = IncidentStatus::Postmortem;
    let snap = Snapshot {
        maintenances: vec![maintenance],
        components: vec![
            component("c1", "major_outage"),
            component("c2", "operational"),
        ],
        ..snapshot(vec![
            incident(
                "i",
                vec![
                    update("u1", "investigating", 31),
                    update("u2", "resolved", 32),
                    update("u3", "investigating", 34),
                ],
            ),
            postmortem,
        ])
    };
    let after_baseline = baseline_of(&snapshot(vec![]));
    for previous in [ProviderState::default(), after_baseline] {
        let changes = detect_changes(&provider(), &previous, &snap, at(45));
        assert!(previous.baseline_at.is_none() || !changes.events.is_empty());
        assert_eq!(
            known_after(&provider(), &previous, &snap, at(45)),
            changes.state
        );
    }
}

/// A page on one platform, then the same vendor's page after a migration: every id new.
fn migrated_pages() -> (Snapshot, Snapshot) {
    let before = Snapshot {
        incidents: vec![
            incident("old1", vec![update("o1", "investigating", 1)]),
            incident("old2", vec![update("o2", "resolved", 2)]),
        ],
        components: vec![
            component("api", "operational"),
            component("web", "major_outage"),
        ],
        ..Snapshot::default()
    };
    let after = Snapshot {
        incidents: vec![
            incident("new1", vec![update("n1", "investigating", 10)]),
            incident("new2", vec![update("n2", "resolved", 11)]),
            incident("new3", vec![update("n3", "identified", 12)]),
        ],
        components: vec![
            component("c-api", "operational"),
            component("c-web", "partial_outage"),
        ],
        ..Snapshot::default()
    };
    (before, after)
}

#[test]
fn a_page_whose_records_all_change_is_reported_once_as_moved() {
    let (before, after) = migrated_pages();
    let base = detect_changes(&provider(), &ProviderState::default(), &before, at(5));
    let moved = detect_changes(&provider(), &base.state, &after, at(20));
    assert_eq!(kinds(&moved), [(String::new(), "provider.moved")]);
    let info = moved.events[0].data.moved.as_ref().unwrap();
    assert_eq!((info.records_before, info.records_now), (4, 5));
    assert_eq!(info.open_now, ["Incident new1", "Incident new3"]);
    // The new page is followed from here: its next update is an ordinary update.
    assert_eq!(
        moved.state,
        known_after(&provider(), &base.state, &after, at(20))
    );
    let mut next = after.clone();
    next.incidents[0].updates.push(update("n4", "resolved", 30));
    next.incidents[0].status = "resolved".into();
    let followed = detect_changes(&provider(), &moved.state, &next, at(31));
    assert_eq!(kinds(&followed), [("n4".to_owned(), "incident.resolved")]);
    // Replaying the same poll gives the same event id.
    let again = detect_changes(&provider(), &base.state, &after, at(21));
    assert_eq!(again.events[0].id, moved.events[0].id);
}

#[test]
fn a_partly_renamed_page_or_a_small_page_is_not_a_move() {
    let (before, mut after) = migrated_pages();
    let base = detect_changes(&provider(), &ProviderState::default(), &before, at(5));
    // One record kept: an ordinary (busy) poll, each change announced.
    after.components.push(component("api", "operational"));
    let busy = detect_changes(&provider(), &base.state, &after, at(20));
    assert!(
        busy.events
            .iter()
            .all(|e| e.kind != EventType::ProviderMoved)
    );
    assert!(busy.events.len() >= 3, "{:?}", kinds(&busy));
    // Two records replaced by two others: too little to call it a move.
    let small_before = snapshot(vec![incident("a", vec![update("a1", "investigating", 1)])]);
    let small_after = snapshot(vec![incident("b", vec![update("b1", "investigating", 2)])]);
    let base = detect_changes(&provider(), &ProviderState::default(), &small_before, at(3));
    let next = detect_changes(&provider(), &base.state, &small_after, at(4));
    assert_eq!(kinds(&next), [("b1".to_owned(), "incident.created")]);
}

fn aliased(id: &str, alias: &str, status: &str, minute: u32) -> IncidentUpdate {
    IncidentUpdate {
        alias: Some(alias.into()),
        ..update(id, status, minute)
    }
}

#[test]
fn an_update_read_through_another_channel_is_not_announced_again() {
    let state = baseline_of(&snapshot(vec![]));
    // Read through the JSON API: ids of the API, aliases of the feed.
    let api = snapshot(vec![incident(
        "i",
        vec![aliased("j1", "i@feed1", "investigating", 31)],
    )]);
    let c1 = detect_changes(&provider(), &state, &api, at(32));
    assert_eq!(kinds(&c1), pairs(&[("j1", "incident.created")]));

    // The API is blocked: the feed shows the same update under its alias, and a new one.
    let feed = snapshot(vec![incident(
        "i",
        vec![
            update("i@feed1", "investigating", 31),
            update("i@feed2", "identified", 33),
        ],
    )]);
    let c2 = detect_changes(&provider(), &c1.state, &feed, at(34));
    assert_eq!(kinds(&c2), pairs(&[("i@feed2", "incident.updated")]));

    // The API answers again: both updates are known by their aliases; only the resolution is new.
    let back = snapshot(vec![incident(
        "i",
        vec![
            aliased("j1", "i@feed1", "investigating", 31),
            aliased("j2", "i@feed2", "identified", 33),
            aliased("j3", "i@feed3", "resolved", 35),
        ],
    )]);
    let c3 = detect_changes(&provider(), &c2.state, &back, at(36));
    assert_eq!(kinds(&c3), pairs(&[("j3", "incident.resolved")]));
    let again = detect_changes(&provider(), &c3.state, &back, at(37));
    assert!(again.events.is_empty(), "{:?}", kinds(&again));
}

#[test]
fn a_clock_that_jumps_back_announces_nothing_again() {
    let open = snapshot(vec![incident(
        "i1",
        vec![update("u1", "investigating", 40)],
    )]);
    let base = detect_changes(&provider(), &ProviderState::default(), &open, at(50));
    assert_eq!(kinds(&base), [("u1".to_owned(), "incident.created")]);
    // The machine's clock goes back twenty minutes, then forty: the same page is no news.
    let back = detect_changes(&provider(), &base.state, &open, at(30));
    assert!(back.events.is_empty(), "{:?}", kinds(&back));
    let further = detect_changes(&provider(), &back.state, &open, at(10));
    assert!(further.events.is_empty(), "{:?}", kinds(&further));
    // A record absent while the clock is behind is kept, not forgotten and re-announced.
    let absent = detect_changes(&provider(), &further.state, &snapshot(vec![]), at(5));
    let again = detect_changes(&provider(), &absent.state, &open, at(6));
    assert!(again.events.is_empty(), "{:?}", kinds(&again));
    // What is new is still announced, once.
    let mut next = open.clone();
    next.incidents[0].updates.push(update("u2", "resolved", 41));
    next.incidents[0].status = "resolved".into();
    let resolved = detect_changes(&provider(), &again.state, &next, at(7));
    assert_eq!(kinds(&resolved), [("u2".to_owned(), "incident.resolved")]);
}

// Found by the property test in diff/properties.rs: a status moving from postmortem back to
// resolved without an update announced a second resolution (or, for an incident first seen
// with its postmortem, a resolution of something never announced).
#[test]
fn a_postmortem_that_reads_resolved_again_is_not_resolved_twice() {
    let provider = provider();
    let resolved = incident(
        "a",
        vec![
            update("u1", "investigating", 1),
            update("u2", "resolved", 2),
        ],
    );
    let mut postmortem = resolved.clone();
    postmortem.status = "postmortem".into();
    let baseline = detect_changes(
        &provider,
        &ProviderState::default(),
        &snapshot(vec![]),
        at(0),
    );
    let first = detect_changes(
        &provider,
        &baseline.state,
        &snapshot(vec![resolved.clone()]),
        at(3),
    );
    assert_eq!(
        kinds(&first),
        [
            ("u1".to_owned(), "incident.created"),
            ("u2".to_owned(), "incident.resolved")
        ]
    );
    let second = detect_changes(
        &provider,
        &first.state,
        &snapshot(vec![postmortem.clone()]),
        at(4),
    );
    assert_eq!(kinds(&second), [(String::new(), "incident.postmortem")]);
    let third = detect_changes(&provider, &second.state, &snapshot(vec![resolved]), at(5));
    assert_eq!(kinds(&third), []);

    // Seen first, silently, with its postmortem at the baseline: no resolution later.
    let silent = detect_changes(
        &provider,
        &ProviderState::default(),
        &snapshot(vec![postmortem]),
        at(0),
    );
    assert!(silent.events.is_empty());
    let mut reads_resolved = incident("a", vec![update("u1", "investigating", 1)]);
    reads_resolved.status = "resolved".into();
    reads_resolved.updates.clear();
    let later = detect_changes(
        &provider,
        &silent.state,
        &snapshot(vec![reads_resolved]),
        at(5),
    );
    assert_eq!(kinds(&later), []);

    // A new update saying resolved after the postmortem is an update, not a resolution, and
    // the postmortem is not announced again.
    let mut late_update = incident(
        "a",
        vec![
            update("u1", "investigating", 1),
            update("u2", "resolved", 2),
            update("u3", "resolved", 6),
        ],
    );
    late_update.status = "postmortem".into();
    let fourth = detect_changes(&provider, &third.state, &snapshot(vec![late_update]), at(7));
    assert_eq!(kinds(&fourth), [("u3".to_owned(), "incident.updated")]);
}

// Found by the property test: a maintenance whose status went back from completed to in
// progress without an update (a stale copy of the page) was announced as started again, with
// the id of the first start.
#[test]
fn a_status_going_back_without_an_update_is_not_news() {
    let provider = provider();
    let state = baseline_of(&snapshot(vec![]));
    let maintenance = incident("m", vec![update("u1", "scheduled", 31)]);
    let with_status = |m: &Incident, status: &str| {
        let mut m = m.clone();
        m.status = status.into();
        Snapshot {
            maintenances: vec![m],
            ..Snapshot::default()
        }
    };
    let c1 = detect_changes(
        &provider,
        &state,
        &with_status(&maintenance, "scheduled"),
        at(32),
    );
    let c2 = detect_changes(
        &provider,
        &c1.state,
        &with_status(&maintenance, "in_progress"),
        at(33),
    );
    let c3 = detect_changes(
        &provider,
        &c2.state,
        &with_status(&maintenance, "completed"),
        at(34),
    );
    assert_eq!(kinds(&c3), [(String::new(), "maintenance.completed")]);
    let stale = detect_changes(
        &provider,
        &c3.state,
        &with_status(&maintenance, "in_progress"),
        at(35),
    );
    assert_eq!(kinds(&stale), []);
    let fresh = detect_changes(
        &provider,
        &stale.state,
        &with_status(&maintenance, "completed"),
        at(36),
    );
    assert_eq!(kinds(&fresh), []);
    // A real reopening comes with an update, and is announced.
    let mut reopened = maintenance.clone();
    reopened.updates.push(update("u2", "in_progress", 37));
    let reopened = detect_changes(
        &provider,
        &fresh.state,
        &with_status(&reopened, "in_progress"),
        at(38),
    );
    assert_eq!(kinds(&reopened), [("u2".to_owned(), "maintenance.started")]);
}

// Found by the property test: an incident resolved by its status, reopened by an update and
// resolved by its status again got the first resolution's event id, so the second resolution
// was never delivered.
#[test]
fn a_second_resolution_by_status_after_a_reopening_is_a_new_event() {
    let provider = provider();
    let state = baseline_of(&snapshot(vec![]));
    let mut inc = incident("i", vec![update("u1", "investigating", 31)]);
    let c1 = detect_changes(&provider, &state, &snapshot(vec![inc.clone()]), at(32));
    inc.status = IncidentStatus::Resolved;
    let c2 = detect_changes(&provider, &c1.state, &snapshot(vec![inc.clone()]), at(33));
    assert_eq!(kinds(&c2), [(String::new(), "incident.resolved")]);
    inc.updates.push(update("u2", "investigating", 34));
    inc.status = IncidentStatus::Investigating;
    let c3 = detect_changes(&provider, &c2.state, &snapshot(vec![inc.clone()]), at(35));
    assert_eq!(kinds(&c3), [("u2".to_owned(), "incident.updated")]);
    inc.status = IncidentStatus::Resolved;
    let c4 = detect_changes(&provider, &c3.state, &snapshot(vec![inc]), at(36));
    assert_eq!(kinds(&c4), [(String::new(), "incident.resolved")]);
    assert_ne!(c4.events[0].id, c2.events[0].id);
}

// Found by fuzzing (the statuspage target): a summary listing component `c1` twice, major
// outage and operational, announced a component change on every poll of the same page.
#[test]
fn a_component_listed_twice_is_announced_once() {
    let provider = provider();
    let state = baseline_of(&snapshot(vec![]));
    let mut second_copy = component("c1", "operational");
    second_copy.position = Some(2);
    let mut first_copy = component("c1", "major_outage");
    first_copy.position = Some(1);
    let page = Snapshot {
        components: vec![first_copy, second_copy],
        ..Snapshot::default()
    };
    let first = detect_changes(&provider, &state, &page, at(31));
    assert_eq!(
        kinds(&first),
        [("c1".to_owned(), "component.status_changed")]
    );
    let again = detect_changes(&provider, &first.state, &page, at(32));
    assert_eq!(kinds(&again), []);
}

// Found by fuzzing (the statuspage and slack targets): an update id listed three times in one
// incident gave "updated" twice with the same event id; Slack's derived note ids collide for
// two notes of the same second.
#[test]
fn an_update_listed_twice_is_announced_once() {
    let state = baseline_of(&snapshot(vec![]));
    let inc = incident(
        "i",
        vec![
            update("u1", "investigating", 31),
            update("u2", "identified", 32),
            update("u2", "identified", 32),
            update("u2", "identified", 32),
        ],
    );
    let changes = detect_changes(&provider(), &state, &snapshot(vec![inc]), at(33));
    assert_eq!(
        kinds(&changes),
        pairs(&[("u1", "incident.created"), ("u2", "incident.updated")])
    );
}
