//! Platform detection: a provider without `platform` is tried as each platform in turn, by the
//! shape of its documents; a later poll starts from the platform its validators name.

use url::Url;

use super::{
    Fetcher, Platform, PollError, PollOutcome, Previous, Validators, aws_health, better_stack,
    cachet, feed, gcp, incident_io, instatus, poll_as, slack, status_io, statuspage, statuspal,
};

/// The platforms detection tries, in order. Statuspal goes first: it knows from the URL alone
/// whether to make a request at all.
pub const DETECTABLE: [Platform; 11] = [
    Platform::Statuspal,
    Platform::Statuspage,
    Platform::Slack,
    Platform::Instatus,
    Platform::IncidentIo,
    Platform::BetterStack,
    Platform::Cachet,
    Platform::StatusIo,
    Platform::Gcp,
    Platform::AwsHealth,
    Platform::Feed,
];

/// Tries each platform in turn by its documents' shape; the first that reads wins. When none
/// does, the error lists what was tried. The platform found by the last good poll (told by
/// the documents its validators are for) is tried first, so an undeclared page costs no
/// failed probes once detected.
pub async fn detect_and_poll(
    fetcher: &Fetcher,
    url: &Url,
    previous: Option<Previous<'_>>,
) -> Result<(Platform, PollOutcome), PollError> {
    let remembered = previous.and_then(|p| platform_of(p.validators));
    let order = remembered
        .into_iter()
        .chain(DETECTABLE.into_iter().filter(|p| Some(*p) != remembered));
    let mut tried = Vec::new();
    for platform in order {
        match poll_as(platform, fetcher, url, previous).await {
            Ok(outcome) => return Ok((platform, outcome)),
            Err(err @ PollError::NotStatusPage { .. }) => {
                tried.push(format!("{}: {err}", platform.as_str()));
            }
            // A timeout or a 5xx says nothing about the platform: report it as it is.
            Err(other) => return Err(other),
        }
    }
    Err(PollError::NotStatusPage {
        document: url.as_str().trim_end_matches('/').to_owned(),
        reason: format!(
            "no supported platform recognised it (tried {})",
            tried.join("; ")
        ),
    })
}

/// The platform whose documents a good poll left validators for (every platform names its
/// documents differently).
pub fn platform_of(validators: &Validators) -> Option<Platform> {
    let document = validators.keys().next()?.as_str();
    Some(match document {
        statuspage::SUMMARY
        | statuspage::INCIDENTS
        | statuspage::MAINTENANCES
        | statuspage::HISTORY_ATOM
        | statuspage::HISTORY_RSS => Platform::Statuspage,
        slack::CURRENT | slack::HISTORY => Platform::Slack,
        instatus::SUMMARY => Platform::Instatus,
        incident_io::SUMMARY => Platform::IncidentIo,
        better_stack::INDEX => Platform::BetterStack,
        cachet::COMPONENTS | cachet::INCIDENTS => Platform::Cachet,
        statuspal::DOCUMENT => Platform::Statuspal,
        status_io::DOCUMENT => Platform::StatusIo,
        gcp::INCIDENTS => Platform::Gcp,
        aws_health::DOCUMENT => Platform::AwsHealth,
        feed::DOCUMENT => Platform::Feed,
        _ => return None,
    })
}
