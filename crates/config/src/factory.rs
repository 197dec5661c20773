//! Rows a new store starts with, beyond the elements' defaults.
//!
//! Defaults cover single elements; a dial plan that lets local registrations call each other
//! needs a whole search rule row. A new store gets these rows in its first commit, and a reset
//! to defaults (at any level that covers them) puts them back.

use crate::Change;

/// The factory search rule: every alias that is not an IP address is looked up among the
/// local registrations first. And the `admin` account, without a password: the server gives it
/// a random one when it starts and finds none.
pub const ROWS: &[(&str, &str)] = &[
    ("Authentication Account Admin Account 1 Name", "admin"),
    ("Zones Policy SearchRules Rule 1 Name", "LocalZoneMatch"),
    (
        "Zones Policy SearchRules Rule 1 Description",
        "Local registrations",
    ),
    ("Zones Policy SearchRules Rule 1 Priority", "48"),
    ("Zones Policy SearchRules Rule 1 Protocol", "Any"),
    ("Zones Policy SearchRules Rule 1 Mode", "AnyAlias"),
    ("Zones Policy SearchRules Rule 1 Target Type", "Zone"),
    ("Zones Policy SearchRules Rule 1 Target Name", "LocalZone"),
    ("Zones Policy SearchRules Rule 1 State", "Enabled"),
];

/// The factory rows as changes, for those a reset at `level` covers.
pub fn changes(level: u8) -> Vec<Change> {
    ROWS.iter()
        .filter(|(k, _)| crate::reset::resets(k, level))
        .map(|(k, v)| Change::Set {
            path: k.to_string(),
            value: v.to_string(),
        })
        .collect()
}
