//! `[[routes]]`: notification groups. Each names its `[[destinations]]` (or carries one inline
//! with `channel`) and filters the events that go to them.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::destination::{self, DestinationConfig, destination_fields};
use super::{ConfigError, Locator, ProviderConfig, Secrets, check_name};
use crate::event::EventType;
use crate::model::Impact;
use crate::routing::{RouteFilter, matched_types, names_maintenance};

/// A notification group: filters, and the destinations that matching events go to.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    pub name: String,
    pub destinations: Vec<String>,
    pub filter: RouteFilter,
}

destination_fields! {
    /// A `[[routes]]` entry as written.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RawRoute {
        name: Spanned<String>,
        /// Names of `[[destinations]]`.
        destinations: Option<Vec<Spanned<String>>>,
        /// Or one destination inline, named after the route: its type and the destination
        /// fields.
        channel: Option<Spanned<String>>,
    } {
        providers: Option<Vec<Spanned<String>>>,
        tags: Option<Vec<Spanned<String>>>,
        components: Option<HashMap<String, Vec<Spanned<String>>>>,
        min_impact: Option<Spanned<String>>,
        events: Option<Vec<Spanned<String>>>,
        maintenance: Option<bool>,
    }
}

/// What routes are checked against: the providers, and the `[[destinations]]` (to which
/// inline destinations are added).
pub(super) struct Context<'a> {
    pub at: &'a Locator<'a>,
    pub secrets: &'a Secrets,
    pub allow_private: bool,
    pub providers: &'a [ProviderConfig],
}

/// The routes, with the inline destinations added to `destinations`, and a warning for each
/// of the `[[destinations]]` (whose names are at `destination_spans`) that no route names.
pub(super) fn build(
    raw_routes: Vec<Spanned<RawRoute>>,
    destinations: &mut Vec<DestinationConfig>,
    destination_spans: &[Range<usize>],
    cx: &Context<'_>,
) -> Result<(Vec<RouteConfig>, Vec<String>), ConfigError> {
    let at = cx.at;
    let provider_ids: HashSet<&str> = cx.providers.iter().map(|p| p.id.as_str()).collect();
    let declared = destinations.len();
    let mut used = vec![false; declared];

    let mut routes = Vec::with_capacity(raw_routes.len());
    let mut route_names = HashSet::new();
    for (index, spanned) in raw_routes.into_iter().enumerate() {
        let span = spanned.span();
        let mut raw = spanned.into_inner();
        let field = |name: &str| format!("routes[{index}].{name}");
        check_name(at, &raw.name, &field("name"))?;
        let name = raw.name.get_ref().trim().to_owned();
        if !route_names.insert(name.clone()) {
            return Err(at.error(
                raw.name.span(),
                format!("{}: duplicate route name {name:?}", field("name")),
            ));
        }
        let inline = raw.take_destination_fields();
        let route_destinations = match (&raw.channel, &raw.destinations) {
            (Some(_), Some(list)) => {
                return Err(at.error(
                    list.first().map_or(span.clone(), Spanned::span),
                    format!(
                        "{}: give either `channel` (one destination inline) or `destinations`, not both",
                        field("destinations")
                    ),
                ));
            }
            (None, None) => {
                return Err(at.error(
                    span,
                    format!(
                        "{}: a route needs `destinations = [...]` naming [[destinations]], or an inline `channel`",
                        field("destinations")
                    ),
                ));
            }
            (Some(kind), None) => {
                // An inline destination takes the route's name.
                if destinations.iter().any(|d| d.name == name) {
                    return Err(at.error(
                        raw.name.span(),
                        format!("{}: a destination is already named {name:?}", field("name")),
                    ));
                }
                let dcx = destination::Context {
                    at,
                    secrets: cx.secrets,
                    allow_private: cx.allow_private,
                    field_prefix: format!("routes[{index}]"),
                    span: span.clone(),
                    kind_field: "channel",
                };
                let (channel, rate_limit) = destination::build_channel(kind, &inline, &dcx)?;
                destinations.push(DestinationConfig {
                    name: name.clone(),
                    channel,
                    rate_limit,
                });
                vec![name.clone()]
            }
            (None, Some(list)) => {
                if let Some((field_name, span)) = inline.first_present() {
                    return Err(at.error(
                        span,
                        format!(
                            "{}: destination fields belong in [[destinations]] when the route lists `destinations`",
                            field(field_name)
                        ),
                    ));
                }
                if list.is_empty() {
                    return Err(at.error(
                        span,
                        format!(
                            "{}: must name at least one destination",
                            field("destinations")
                        ),
                    ));
                }
                let mut names = Vec::with_capacity(list.len());
                for (i, entry) in list.iter().enumerate() {
                    let wanted = entry.get_ref().trim();
                    let Some(position) = destinations[..declared]
                        .iter()
                        .position(|d| d.name == wanted)
                    else {
                        return Err(at.error(
                            entry.span(),
                            format!(
                                "{}[{i}]: no destination is named {wanted:?}",
                                field("destinations")
                            ),
                        ));
                    };
                    used[position] = true;
                    if !names.iter().any(|n| n == wanted) {
                        names.push(wanted.to_owned());
                    }
                }
                names
            }
        };

        let mut provider_filter: Option<HashSet<String>> = None;
        for (i, id) in raw.providers.iter().flatten().enumerate() {
            if !provider_ids.contains(id.get_ref().as_str()) {
                return Err(at.error(
                    id.span(),
                    format!(
                        "{}[{i}]: no provider has id {:?}",
                        field("providers"),
                        id.get_ref()
                    ),
                ));
            }
            provider_filter
                .get_or_insert_default()
                .insert(id.get_ref().clone());
        }
        for (i, tag) in raw.tags.iter().flatten().enumerate() {
            let wanted = tag.get_ref().trim().to_lowercase();
            let tagged: Vec<&ProviderConfig> = cx
                .providers
                .iter()
                .filter(|p| p.tags.contains(&wanted))
                .collect();
            if tagged.is_empty() {
                return Err(at.error(
                    tag.span(),
                    format!("{}[{i}]: no provider has tag {wanted:?}", field("tags")),
                ));
            }
            let set = provider_filter.get_or_insert_default();
            set.extend(tagged.into_iter().map(|p| p.id.clone()));
        }

        let mut components = HashMap::new();
        for (provider, list) in raw.components.iter().flatten() {
            if !provider_ids.contains(provider.as_str()) {
                let span = list.first().map_or(span.clone(), Spanned::span);
                return Err(at.error(
                    span,
                    format!(
                        "{}.{provider}: no provider has id {provider:?}",
                        field("components")
                    ),
                ));
            }
            let mut watched = Vec::with_capacity(list.len());
            for entry in list {
                let value = entry.get_ref().trim();
                if value.is_empty() {
                    return Err(at.error(
                        entry.span(),
                        format!("{}.{provider}: empty component name", field("components")),
                    ));
                }
                // Names compare case-insensitively; ids are lowercase on every platform
                // statusrelay reads, so one lowercase list serves both.
                watched.push(value.to_lowercase());
            }
            components.insert(provider.clone(), watched);
        }

        let min_impact = match &raw.min_impact {
            None => None,
            Some(raw_impact) => {
                let impact = Impact::from(raw_impact.get_ref().trim().to_lowercase());
                if matches!(impact, Impact::Unknown(_) | Impact::Maintenance) {
                    return Err(at.error(
                        raw_impact.span(),
                        format!(
                            "{}: {:?} is not an impact (none, minor, major, critical)",
                            field("min_impact"),
                            raw_impact.get_ref()
                        ),
                    ));
                }
                Some(impact)
            }
        };

        let mut event_patterns = Vec::new();
        for (i, pattern) in raw.events.iter().flatten().enumerate() {
            let compiled = glob::Pattern::new(pattern.get_ref())
                .map_err(|e| at.error(pattern.span(), format!("{}[{i}]: {e}", field("events"))))?;
            if matched_types(&compiled).is_empty() {
                return Err(at.error(
                    pattern.span(),
                    format!(
                        "{}[{i}]: {:?} matches no event type (types: {})",
                        field("events"),
                        pattern.get_ref(),
                        EventType::ALL.map(EventType::as_str).join(", ")
                    ),
                ));
            }
            event_patterns.push(compiled);
        }
        let maintenance = raw
            .maintenance
            .unwrap_or_else(|| names_maintenance(&event_patterns));
        routes.push(RouteConfig {
            name,
            destinations: route_destinations,
            filter: RouteFilter {
                providers: provider_filter,
                components,
                min_impact,
                events: event_patterns,
                maintenance,
            },
        });
    }
    // Unused destinations are allowed (a route commented out for a while) but said.
    let mut warnings = Vec::new();
    for (index, _) in used.iter().enumerate().filter(|(_, used)| !**used) {
        let located = at.error(
            destination_spans[index].clone(),
            format!(
                "destinations[{index}]: {:?} is not named by any route; it receives nothing",
                destinations[index].name
            ),
        );
        warnings.push(located.to_string());
    }
    Ok((routes, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{PROVIDERS, parse};
    use crate::config::{ChannelConfig, PAGERDUTY_EVENTS_URL, RateLimit};

    #[test]
    fn route_validation() {
        let base = "[[providers]]\nid = \"gh\"\nurl = \"https://www.githubstatus.com\"\n";
        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"webhook\"\nurl = \"https://h.test/x\"\nproviders = [\"gh\", \"nope\"]\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("routes[0].providers[1]"), "{err}");
        assert_eq!(err.position, Some((8, 20)));

        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"console\"\nevents = [\"incident.create\"]\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("matches no event type"), "{err}");

        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"webhook\"\nurl = \"https://h.test/x\"\nsecret = \"whsec_***\"\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("routes[0].secret"), "{err}");
        assert!(
            !err.to_string().contains("***"),
            "errors must not echo secrets: {err}"
        );

        let err = parse(&format!(
            "{base}[[routes]]\nname = \"r\"\nchannel = \"pager\"\n"
        ))
        .unwrap_err();
        assert!(
            err.message
                .contains("routes[0].channel: unknown destination type"),
            "{err}"
        );
    }

    #[test]
    fn notification_groups_share_destinations() {
        let config = parse(&format!(
            "{PROVIDERS}
[[destinations]]
name = \"ops-slack\"
type = \"slack\"
url = \"https://hooks.slack.test/services/T0/B0/x\"
rate_limit = \"2/s\"

[[destinations]]
name = \"pager\"
type = \"pagerduty\"
routing_key = \"R0UTINGKEY0123456789ABCDEFGHIJKL\"

[[routes]]
name = \"major\"
destinations = [\"ops-slack\", \"pager\", \"ops-slack\"]
tags = [\"payments\"]
providers = [\"gh\"]
min_impact = \"Major\"
components = {{ gh = [\"Actions\", \"br0l2tvcx85d\"] }}

[[routes]]
name = \"maintenance\"
destinations = [\"ops-slack\"]
events = [\"maintenance.*\"]
"
        ))
        .unwrap();
        assert_eq!(config.destinations.len(), 2);
        assert_eq!(
            config.destinations[0].rate_limit,
            Some(RateLimit::parse("2/s").unwrap())
        );
        let major = &config.routes[0];
        assert_eq!(major.destinations, ["ops-slack", "pager"]);
        let providers = major.filter.providers.as_ref().unwrap();
        assert!(providers.contains("gh") && providers.contains("stripe"));
        assert_eq!(major.filter.min_impact, Some(Impact::Major));
        assert_eq!(major.filter.components["gh"], ["actions", "br0l2tvcx85d"]);
        assert!(!major.filter.maintenance, "maintenance is off unless asked");
        assert!(
            config.routes[1].filter.maintenance,
            "naming maintenance events turns it on"
        );
        assert!(matches!(
            &config.destinations[1].channel,
            ChannelConfig::PagerDuty { url, .. } if url.as_str() == PAGERDUTY_EVENTS_URL
        ));
    }

    #[test]
    fn unused_destinations_are_a_warning() {
        let config = parse(&format!(
            "{PROVIDERS}[[destinations]]\nname = \"s\"\ntype = \"slack\"\nurl = \"https://h.test/x\"\n"
        ))
        .unwrap();
        assert_eq!(
            config.warnings,
            [
                "conf/sr.toml:14:8: destinations[0]: \"s\" is not named by any route; it receives nothing"
            ]
        );
    }
}
