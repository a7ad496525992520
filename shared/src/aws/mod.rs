//! The serverless shape: the poller writes state items to DynamoDB, the notifier turns their
//! stream records into events and delivers them (routes and an SNS topic), with a delivery log
//! that makes replays harmless. `functions/*` are thin wrappers around these.

pub mod config_source;
pub mod notifier;
pub mod poller;
pub mod table;
