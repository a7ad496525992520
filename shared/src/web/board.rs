//! The dashboard's read model: every provider's overview, tags and maintenance windows, shared
//! by `/`, `/maintenance` and `/api/v1/providers`. Each store builds it its own way (the state
//! file: [`super::board_cache`]; the AWS table: one query of the board index).

use chrono::{DateTime, Utc};

use crate::model::{Incident, IncidentStatus};
use crate::overview::{ProviderOverview, attention_order};

/// One provider as the dashboard lists it.
pub struct BoardRow {
    pub overview: ProviderOverview,
    pub tags: Vec<String>,
    pub maintenances: Vec<MaintenanceWindow>,
}

/// A scheduled or in-progress maintenance, as the calendar and the overview show it.
#[derive(Clone)]
pub struct MaintenanceWindow {
    pub provider_id: String,
    pub provider_name: String,
    pub name: String,
    pub status: IncidentStatus,
    pub starts: Option<DateTime<Utc>>,
    pub ends: Option<DateTime<Utc>>,
    pub latest_update: Option<String>,
}

impl MaintenanceWindow {
    fn of(provider: &ProviderOverview, maintenance: &Incident) -> MaintenanceWindow {
        MaintenanceWindow {
            provider_id: provider.id.clone(),
            provider_name: provider.name.clone(),
            name: maintenance.name.clone(),
            status: maintenance.status.clone(),
            starts: maintenance.scheduled_for,
            ends: maintenance.scheduled_until,
            latest_update: maintenance.updates.last().map(|u| u.body.clone()),
        }
    }

    /// The windows of a provider's maintenances that are not finished.
    pub fn unfinished<'a>(
        provider: &ProviderOverview,
        maintenances: impl IntoIterator<Item = &'a Incident>,
    ) -> Vec<MaintenanceWindow> {
        maintenances
            .into_iter()
            .filter(|m| !m.status.is_finished())
            .map(|m| MaintenanceWindow::of(provider, m))
            .collect()
    }

    pub fn in_progress(&self) -> bool {
        self.status.is_in_progress()
    }
}

/// Every provider, worst first, as of one version of the state file.
pub struct Board {
    pub rows: Vec<BoardRow>,
    pub built_at: DateTime<Utc>,
}

impl Board {
    /// The board of these rows, worst first.
    pub fn of(mut rows: Vec<BoardRow>) -> Board {
        rows.sort_by_cached_key(|row| attention_order(&row.overview));
        Board {
            rows,
            built_at: Utc::now(),
        }
    }

    /// Every tag any provider carries, sorted, for the filter.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .rows
            .iter()
            .flat_map(|r| r.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    /// Every unfinished maintenance of every provider, soonest first.
    pub fn maintenances(&self) -> impl Iterator<Item = &MaintenanceWindow> {
        let mut all: Vec<_> = self.rows.iter().flat_map(|r| &r.maintenances).collect();
        all.sort_by_key(|m| (m.starts, m.provider_name.to_lowercase()));
        all.into_iter()
    }
}
