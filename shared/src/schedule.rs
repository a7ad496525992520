//! When each provider is polled next, one provider at a time instead of whole cycles.
//!
//! A provider is **hot** while its page shows an open incident or a maintenance in progress,
//! or changed in the last [`COOL_DOWN`]; hot providers are polled every `hot_interval`, the
//! others every `interval`. The first round reads every page at once (a start, as before);
//! each provider's second poll then comes at a random point of the interval's last three
//! quarters (never sooner than `hot_interval`), which spreads the fleet's polls evenly over the
//! interval for good, and every later poll comes a full interval after the last, plus a random
//! 0–5 % so providers never fall back into step. So a change on a quiet page waits at most
//! about one interval (not 1.2, as with a wider jitter), and a quiet page gets no more requests
//! than one per interval (bar the one sooner second poll). A vendor's `Retry-After` pushes the
//! next poll back until then.
//!
//! A **push** (a vendor's webhook to `/intake/<id>`) asks for a poll now. It never carries
//! data in; it only moves the next poll earlier, at most once per [`PUSH_GAP`] per provider: a
//! burst of pushes is one poll, a flood of forged ones a poll every few seconds at worst. A push
//! that arrives while the provider is being polled asks for one more poll right after it (the
//! poll in flight may have read the page before the update the push announces).
//!
//! Pure: the caller passes the time and the jitter, so every rule is unit-tested.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A provider cools down to `interval` after this long without a change.
pub const COOL_DOWN: Duration = Duration::from_secs(30 * 60);
/// The least time between two polls a push triggers for one provider.
pub const PUSH_GAP: Duration = Duration::from_secs(10);
/// The largest share of an interval a next poll is put later by, at random.
const JITTER: f64 = 0.05;
/// The soonest a provider's second poll comes, as a share of the interval: the first poll
/// after a start is spread over the interval's last three quarters.
const SPREAD_FROM: f64 = 0.25;

/// Whether a page shows an open incident or a maintenance in progress (a hot provider).
pub fn shows_open(snapshot: &crate::model::Snapshot) -> bool {
    snapshot.incidents.iter().any(|i| !i.status.is_finished())
        || snapshot
            .maintenances
            .iter()
            .any(|m| m.status.is_in_progress())
}

/// The hot rule on wall-clock time, for a poller that keeps no clock between invocations
/// (AWS): open records, or a change less than [`COOL_DOWN`] ago.
pub fn is_hot_at(
    open: bool,
    last_change: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    // A change stamped after `now` (clocks of two containers) counts as just now.
    let since_change =
        last_change.map(|at| now.signed_duration_since(at).to_std().unwrap_or_default());
    hot(open, since_change)
}

/// The hot rule itself: open records, or a change less than [`COOL_DOWN`] ago.
fn hot(open: bool, since_change: Option<Duration>) -> bool {
    open || since_change.is_some_and(|ago| ago < COOL_DOWN)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub interval: Duration,
    pub hot_interval: Duration,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    due: Option<Instant>,
    in_flight: bool,
    /// What the page showed at its last good poll: an open incident or running maintenance.
    open: bool,
    last_change: Option<Instant>,
    last_push_poll: Option<Instant>,
    /// A push arrived during a poll: poll again once it ends.
    push_waiting: bool,
    /// The vendor's `Retry-After`: no poll before then, pushed or not.
    not_before: Option<Instant>,
    /// Polled in step with the others so far (the first round): the next poll is spread.
    in_step: bool,
}

/// How a poll ended, for the next one's time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Finished {
    /// What the page shows now, when the poll read it (`None`: unchanged or failed).
    pub open: Option<bool>,
    /// Whether the poll recorded a change.
    pub changed: bool,
    /// The vendor asked to wait this long.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The poll was moved to this instant.
    PollAt(Instant),
    /// A poll is already due sooner, or in flight and asked to repeat: nothing more.
    Coalesced,
    /// No such provider.
    Unknown,
}

pub struct Schedule {
    cadence: Cadence,
    slots: HashMap<String, Slot>,
}

impl Schedule {
    /// Every provider due at `now` (the first round reads every page at once, as before);
    /// `open` tells which are hot from the start (what their last snapshot showed).
    pub fn new(
        providers: impl IntoIterator<Item = (String, bool)>,
        cadence: Cadence,
        now: Instant,
    ) -> Schedule {
        let slots = providers
            .into_iter()
            .map(|(id, open)| {
                let slot = Slot {
                    due: Some(now),
                    in_step: true,
                    open,
                    ..Slot::default()
                };
                (id, slot)
            })
            .collect();
        Schedule { cadence, slots }
    }

    /// The providers due by `now`, soonest first, marked in flight.
    pub fn take_due(&mut self, now: Instant) -> Vec<String> {
        let mut due: Vec<(Instant, &String)> = self
            .slots
            .iter()
            .filter_map(|(id, slot)| {
                let at = slot.due?;
                (!slot.in_flight && at <= now).then_some((at, id))
            })
            .collect();
        due.sort();
        let ids: Vec<String> = due.into_iter().map(|(_, id)| id.clone()).collect();
        for id in &ids {
            let slot = self.slots.get_mut(id).expect("listed above");
            slot.in_flight = true;
            slot.due = None;
        }
        ids
    }

    /// When the next provider is due (none while every provider is in flight).
    pub fn next_due(&self) -> Option<Instant> {
        self.slots
            .values()
            .filter(|slot| !slot.in_flight)
            .filter_map(|slot| slot.due)
            .min()
    }

    /// Records a finished poll and sets the provider's next one; `jitter` in `[0, 1)` says how
    /// far into the spread it goes (0: a full interval; after the first round, towards a
    /// quarter of it; later, towards 5 % more).
    pub fn finished(&mut self, id: &str, now: Instant, how: Finished, jitter: f64) {
        let cadence = self.cadence;
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        slot.in_flight = false;
        if how.changed {
            slot.last_change = Some(now);
        }
        if let Some(open) = how.open {
            slot.open = open;
        }
        if let Some(wait) = how.retry_after {
            slot.not_before = Some(now + wait);
        }
        let jitter = jitter.clamp(0.0, 1.0);
        let in_step = std::mem::take(&mut slot.in_step);
        let wait = if is_hot(slot, now) {
            cadence.hot_interval.mul_f64(1.0 + JITTER * jitter)
        } else if in_step {
            cadence
                .interval
                .mul_f64(1.0 - (1.0 - SPREAD_FROM) * jitter)
                .max(cadence.hot_interval)
        } else {
            cadence.interval.mul_f64(1.0 + JITTER * jitter)
        };
        let mut due = now + wait;
        if std::mem::take(&mut slot.push_waiting) {
            let again = push_time(slot, now);
            slot.last_push_poll = Some(again);
            due = due.min(again);
        }
        if let Some(not_before) = slot.not_before {
            due = due.max(not_before);
        }
        slot.due = Some(due);
    }

    /// A push for `id` at `now`: moves its next poll earlier, within the push rules.
    pub fn pushed(&mut self, id: &str, now: Instant) -> Pushed {
        let Some(slot) = self.slots.get_mut(id) else {
            return Pushed::Unknown;
        };
        if slot.in_flight {
            slot.push_waiting = true;
            return Pushed::Coalesced;
        }
        let at = push_time(slot, now);
        match slot.due {
            Some(due) if due <= at => Pushed::Coalesced,
            _ => {
                slot.due = Some(at);
                slot.last_push_poll = Some(at);
                Pushed::PollAt(at)
            }
        }
    }

    pub fn is_hot(&self, id: &str, now: Instant) -> bool {
        self.slots.get(id).is_some_and(|slot| is_hot(slot, now))
    }

    /// How many providers are hot now (for the log and metrics).
    pub fn hot_count(&self, now: Instant) -> usize {
        self.slots.values().filter(|slot| is_hot(slot, now)).count()
    }
}

fn is_hot(slot: &Slot, now: Instant) -> bool {
    hot(
        slot.open,
        slot.last_change.map(|at| now.saturating_duration_since(at)),
    )
}

/// The earliest a push may have its poll: now, but not within [`PUSH_GAP`] of the last
/// push-triggered poll, nor before the vendor's `Retry-After`.
fn push_time(slot: &Slot, now: Instant) -> Instant {
    let mut at = now;
    if let Some(last) = slot.last_push_poll {
        at = at.max(last + PUSH_GAP);
    }
    if let Some(not_before) = slot.not_before {
        at = at.max(not_before);
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_the_wall_clock_a_provider_is_hot_while_open_or_for_the_cool_down() {
        let now = chrono::Utc::now();
        let ago = |minutes| Some(now - chrono::Duration::minutes(minutes));
        assert!(is_hot_at(true, None, now));
        assert!(is_hot_at(false, ago(29), now));
        assert!(!is_hot_at(false, ago(31), now));
        assert!(!is_hot_at(false, None, now));
        // A change stamped in the future (clock skew between containers) counts as recent.
        assert!(is_hot_at(
            false,
            Some(now + chrono::Duration::seconds(5)),
            now
        ));
    }

    const CADENCE: Cadence = Cadence {
        interval: Duration::from_secs(60),
        hot_interval: Duration::from_secs(15),
    };

    fn schedule(now: Instant) -> Schedule {
        Schedule::new(
            [("quiet".to_owned(), false), ("burning".to_owned(), true)],
            CADENCE,
            now,
        )
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn every_provider_is_due_at_start_then_hot_ones_four_times_as_often() {
        let t0 = Instant::now();
        let mut s = schedule(t0);
        let mut first = s.take_due(t0);
        first.sort();
        assert_eq!(first, ["burning", "quiet"]);
        assert!(s.take_due(t0).is_empty(), "in flight, not due twice");
        s.finished("quiet", t0, Finished::default(), 0.0);
        s.finished("burning", t0, Finished::default(), 0.0);
        assert_eq!(s.next_due(), Some(t0 + secs(15)));
        assert_eq!(s.take_due(t0 + secs(15)), ["burning"]);
        assert!(s.take_due(t0 + secs(59)).is_empty());
        assert_eq!(s.take_due(t0 + secs(60)), ["quiet"]);
    }

    #[test]
    fn the_second_poll_spreads_the_fleet_and_later_ones_keep_the_interval() {
        let t0 = Instant::now();
        let mut s = schedule(t0);
        s.take_due(t0);
        // Hot: its hot interval, at most 5 % more.
        s.finished("burning", t0, Finished::default(), 0.5);
        // After the first round a quiet provider's next poll is spread over the interval's
        // last three quarters: here near its start (60 s × (1 − 0.75 × 0.999) ≈ 15.05 s).
        s.finished("quiet", t0, Finished::default(), 0.999);
        assert!(s.take_due(t0 + secs(15)).is_empty());
        assert_eq!(s.take_due(t0 + secs(16)), ["quiet", "burning"]);
        // From then on: a full interval, at most 5 % more.
        let mut t = t0 + secs(16);
        s.finished("quiet", t, Finished::default(), 0.999);
        assert!(s.take_due(t + secs(62)).is_empty());
        assert_eq!(s.take_due(t + secs(63)), ["quiet"]);
        t += secs(63);
        for _ in 0..10 {
            s.finished("quiet", t, Finished::default(), 0.0);
            assert!(s.take_due(t + secs(59)).is_empty(), "never sooner");
            t += secs(60);
            assert_eq!(s.take_due(t), ["quiet"]);
        }
    }

    #[test]
    fn a_change_heats_a_provider_and_thirty_quiet_minutes_cool_it() {
        let t0 = Instant::now();
        let mut s = schedule(t0);
        s.take_due(t0);
        let changed = Finished {
            changed: true,
            open: Some(false),
            ..Finished::default()
        };
        s.finished("quiet", t0, changed, 0.0);
        assert!(s.is_hot("quiet", t0));
        assert!(s.is_hot("quiet", t0 + secs(29 * 60)));
        assert!(!s.is_hot("quiet", t0 + COOL_DOWN));
        // The incident of "burning" is resolved: still hot for the cool-down, then cold.
        s.finished(
            "burning",
            t0,
            Finished {
                changed: true,
                open: Some(false),
                ..Finished::default()
            },
            0.0,
        );
        assert!(s.is_hot("burning", t0 + secs(60)));
        assert!(!s.is_hot("burning", t0 + COOL_DOWN + secs(1)));
        assert_eq!(s.hot_count(t0), 2);
    }

    #[test]
    fn retry_after_holds_polls_and_pushes_back() {
        let t0 = Instant::now();
        let mut s = schedule(t0);
        s.take_due(t0);
        let throttled = Finished {
            retry_after: Some(secs(300)),
            ..Finished::default()
        };
        s.finished("burning", t0, throttled, 0.0);
        assert!(s.take_due(t0 + secs(299)).is_empty());
        assert_eq!(s.pushed("burning", t0 + secs(1)), Pushed::Coalesced);
        assert_eq!(s.take_due(t0 + secs(300)), ["burning"]);
    }

    #[test]
    fn a_burst_of_pushes_is_one_poll_and_a_flood_a_poll_per_gap() {
        let t0 = Instant::now();
        let mut s = schedule(t0);
        s.take_due(t0);
        s.finished("quiet", t0, Finished::default(), 0.0);
        let t1 = t0 + secs(20);
        assert_eq!(s.pushed("quiet", t1), Pushed::PollAt(t1));
        for n in 0..1000 {
            assert_eq!(
                s.pushed("quiet", t1 + Duration::from_millis(n)),
                Pushed::Coalesced
            );
        }
        assert_eq!(s.take_due(t1 + secs(1)), ["quiet"]);
        assert!(
            s.take_due(t1 + secs(5)).is_empty(),
            "one poll for the burst"
        );
        s.finished("quiet", t1 + secs(1), Finished::default(), 0.0);
        // Pushes keep coming: the next push poll waits for the gap.
        assert_eq!(
            s.pushed("quiet", t1 + secs(2)),
            Pushed::PollAt(t1 + PUSH_GAP)
        );
        assert_eq!(s.pushed("nobody", t1), Pushed::Unknown);
    }

    #[test]
    fn a_push_during_a_poll_asks_for_one_more_right_after() {
        let t0 = Instant::now();
        let mut s = schedule(t0);
        s.take_due(t0);
        s.finished("burning", t0, Finished::default(), 0.0);
        assert_eq!(s.pushed("quiet", t0), Pushed::Coalesced);
        assert_eq!(s.pushed("quiet", t0), Pushed::Coalesced);
        s.finished("quiet", t0 + secs(1), Finished::default(), 0.0);
        assert_eq!(s.next_due(), Some(t0 + secs(1)));
        assert_eq!(s.take_due(t0 + secs(1)), ["quiet"]);
        s.finished("quiet", t0 + secs(2), Finished::default(), 0.0);
        assert_eq!(
            s.take_due(t0 + secs(30)),
            ["burning"],
            "then back to its interval"
        );
    }
}
