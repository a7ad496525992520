//! The status page platforms statusrelay reads, as a provider's `platform = "…"` names them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Not given: detected from the page itself.
    Detect,
    Statuspage,
    /// Slack's own status API.
    Slack,
    Instatus,
    /// incident.io's Widget API (pages without the Statuspage-compatible API).
    IncidentIo,
    /// Better Stack (Better Uptime) status pages.
    BetterStack,
    /// Cachet (self-hosted), API v1.
    Cachet,
    /// Statuspal pages (`statuspal.io/p/<subdomain>` or the summary API URL).
    Statuspal,
    /// Status.io's public status API; the provider's `url` is the API document's.
    StatusIo,
    /// Google Cloud / Google Workspace status dashboards.
    Gcp,
    /// The AWS Health Dashboard RSS feeds; the provider's `url` is the feed's.
    AwsHealth,
    /// Any RSS or Atom feed; the provider's `url` is the feed's.
    Feed,
}

impl Platform {
    pub fn parse(name: &str) -> Option<Platform> {
        match name {
            "auto" => Some(Platform::Detect),
            other => super::DETECTABLE.into_iter().find(|p| p.as_str() == other),
        }
    }

    /// Platforms whose documents list only open records: a record that leaves the list is
    /// over, and the source finishes it against the previous snapshot.
    pub fn lists_only_open(self) -> bool {
        matches!(
            self,
            Platform::Instatus
                | Platform::IncidentIo
                | Platform::StatusIo
                | Platform::Statuspal
                | Platform::Feed
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Detect => "auto",
            Platform::Statuspage => "statuspage",
            Platform::Slack => "slack",
            Platform::Instatus => "instatus",
            Platform::IncidentIo => "incidentio",
            Platform::BetterStack => "betterstack",
            Platform::Cachet => "cachet",
            Platform::Statuspal => "statuspal",
            Platform::StatusIo => "statusio",
            Platform::Gcp => "gcp",
            Platform::AwsHealth => "aws",
            Platform::Feed => "feed",
        }
    }
}
