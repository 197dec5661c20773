//! Factory-reset levels for `xCommand DefaultValuesSet`.
//!
//! Level 1 resets everything except the two groups below; level 2 adds remote authentication
//! (the directory, the login sources and the administrator groups that map directory groups to
//! access); level 3 adds what keeps the box reachable (network interfaces, IP, management
//! access, the local administrator accounts, the node's role).

const LEVEL2: &[&str] = &[
    "Login Remote ",
    "Login Source ",
    "Authentication Account Admin Group ",
];
const LEVEL3: &[&str] = &[
    "Authentication Account Admin Account ",
    "Ethernet ",
    "IP ",
    "IPProtocol",
    "Administration ",
    "Management ",
    "SystemUnit Type",
];

/// The level an element belongs to.
pub fn level_of(path: &str) -> u8 {
    if LEVEL3.iter().any(|p| path.starts_with(p)) {
        3
    } else if LEVEL2.iter().any(|p| path.starts_with(p)) {
        2
    } else {
        1
    }
}

/// Whether a reset at `level` returns `path` to its default.
pub fn resets(path: &str, level: u8) -> bool {
    level_of(path) <= level
}
