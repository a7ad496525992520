//! statusrelay core: everything the CLI and the Lambdas share.
//!
//! The pipeline: [`sources`] fetch a status page into a [`model::Snapshot`]; [`diff`] compares
//! it with the stored [`diff::ProviderState`] and yields [`event::Event`]s; [`store`] commits
//! state and events together; [`routing`] picks routes; [`delivery`] drains the outbox through
//! [`channels`]. [`watcher`] runs one cycle of all of that.

#[cfg(feature = "aws")]
pub mod aws;
pub mod catalog;
pub mod channels;
pub mod config;
pub mod delivery;
#[cfg(feature = "sqlite")]
pub mod delivery_report;
pub mod diff;
pub mod event;
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
pub mod intake;
#[cfg(feature = "sqlite")]
pub mod metrics;
pub mod model;
pub mod net;
pub mod overview;
pub mod render;
pub mod routing;
pub mod schedule;
pub mod signing;
pub mod sources;
#[cfg(feature = "ssm")]
pub mod ssm;
#[cfg(feature = "sqlite")]
pub mod state_reader;
#[cfg(feature = "sqlite")]
pub mod store;
pub mod stream;
#[cfg(feature = "sqlite")]
pub mod watcher;
#[cfg(feature = "web")]
pub mod web;
