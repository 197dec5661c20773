//! Observability: the event log, the configuration log and the alarm table.

pub mod alarms;
pub mod eventlog;

pub use alarms::{Alarm, AlarmSpec, AlarmState, Alarms};
pub use eventlog::{Entry, EventLog, LogKind, Rotation};
