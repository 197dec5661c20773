//! Which pages exist and where they sit in the menus.
//!
//! The menus follow the reference's web interface (Status, System, Configuration, Applications,
//! Users, Maintenance). Configuration pages are subtrees of the configuration tree and list
//! pages are its large tables: both are generated, so a page here is one line naming the part
//! of the tree it shows.

/// The top-level menus, in the order the reference shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Menu {
    Status,
    System,
    Configuration,
    Applications,
    Users,
    Maintenance,
}

impl Menu {
    pub const ALL: [Menu; 6] = [
        Menu::Status,
        Menu::System,
        Menu::Configuration,
        Menu::Applications,
        Menu::Users,
        Menu::Maintenance,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Menu::Status => "Status",
            Menu::System => "System",
            Menu::Configuration => "Configuration",
            Menu::Applications => "Applications",
            Menu::Users => "Users",
            Menu::Maintenance => "Maintenance",
        }
    }
}

/// A page made from one or more subtrees of the configuration. Large tables inside the
/// subtrees are left out (they have list pages); small ones (up to ten rows) show every row.
pub(crate) struct ConfigPage {
    pub slug: &'static str,
    pub menu: Menu,
    pub title: &'static str,
    /// Subtrees or single elements, in display order.
    pub roots: &'static [&'static str],
    /// Subtrees under the roots that belong to other pages.
    pub skip: &'static [&'static str],
    pub intro: &'static str,
}

/// A list page over a large table of the tree. Rows are added at the lowest free row number,
/// filled from a form generated like a configuration page.
pub(crate) struct TablePage {
    pub slug: &'static str,
    pub menu: Menu,
    pub title: &'static str,
    /// What one row is called (`search rule`).
    pub noun: &'static str,
    /// The table's path without its index: `Zones Policy SearchRules Rule`.
    pub table: &'static str,
    /// Columns: element paths inside a row.
    pub columns: &'static [&'static str],
    /// The column sorted by when the page is opened.
    pub sort: &'static str,
    /// An enum element whose value picks which of the row's sub-groups apply (a zone's Type:
    /// a Neighbor zone shows the Neighbor settings only).
    pub variant: Option<&'static str>,
    pub intro: &'static str,
}

pub(crate) const CONFIG_PAGES: &[ConfigPage] = &[
    // System
    ConfigPage {
        slug: "system-name",
        menu: Menu::System,
        title: "System",
        roots: &["SystemUnit Name", "SystemUnit Type"],
        skip: &[],
        intro: "The name shown on every page, in the logs and to neighbours, and whether this node runs inside the network (Core) or in the DMZ (Edge).",
    },
    ConfigPage {
        slug: "administration",
        menu: Menu::System,
        title: "Administration access",
        roots: &["Administration", "Management"],
        skip: &[],
        intro: "How administrators reach this system: web and API over HTTPS, plain HTTP redirection, SSH, and the limits on web sessions.",
    },
    ConfigPage {
        slug: "network",
        menu: Menu::System,
        title: "Network interfaces",
        roots: &["IPProtocol", "IP", "Ethernet"],
        skip: &["IP DNS", "IP QoS", "IP Route"],
        intro: "Addresses, gateways and the protocol family of the LAN interfaces.",
    },
    ConfigPage {
        slug: "dns",
        menu: Menu::System,
        title: "DNS",
        roots: &["IP DNS", "DNS"],
        skip: &[],
        intro: "Name servers, the local domain and host name, and the ports DNS queries are sent from.",
    },
    ConfigPage {
        slug: "time",
        menu: Menu::System,
        title: "Time",
        roots: &["NTP", "TimeZone"],
        skip: &[],
        intro: "Time servers and the time zone used for local times in the logs and on these pages.",
    },
    ConfigPage {
        slug: "qos",
        menu: Menu::System,
        title: "Quality of service",
        roots: &["QoS", "IP QoS"],
        skip: &[],
        intro: "DiffServ code points for signalling and media.",
    },
    ConfigPage {
        slug: "snmp",
        menu: Menu::System,
        title: "SNMP",
        roots: &["SNMP"],
        skip: &[],
        intro: "Read access for network management systems.",
    },
    ConfigPage {
        slug: "external-manager",
        menu: Menu::System,
        title: "External manager",
        roots: &["ExternalManager"],
        skip: &[],
        intro: "A management system this node reports to.",
    },
    ConfigPage {
        slug: "clustering",
        menu: Menu::System,
        title: "Clustering",
        roots: &["Alternates"],
        skip: &[],
        intro: "The cluster this node belongs to and its peers.",
    },
    ConfigPage {
        slug: "logging",
        menu: Menu::Maintenance,
        title: "Logging",
        roots: &["Log", "Remote Syslog"],
        skip: &[],
        intro: "How much the event log records, and the syslog servers that receive a copy.",
    },
    ConfigPage {
        slug: "email-alerts",
        menu: Menu::Maintenance,
        title: "Email notifications",
        roots: &["Alarm Notification"],
        skip: &[],
        intro: "Mail sent when alarms are raised.",
    },
    ConfigPage {
        slug: "incident-reporting",
        menu: Menu::Maintenance,
        title: "Incident reporting",
        roots: &["ErrorReport"],
        skip: &[],
        intro: "Whether crash reports are sent, and where.",
    },
    ConfigPage {
        slug: "maintenance-mode",
        menu: Menu::Maintenance,
        title: "Maintenance mode",
        roots: &["SystemUnit Maintenance"],
        skip: &[],
        intro: "While on, this node takes no new calls or registrations; existing calls run to their end.",
    },
    // Configuration
    ConfigPage {
        slug: "sip",
        menu: Menu::Configuration,
        title: "SIP",
        roots: &["SIP"],
        skip: &["SIP Domain", "SIP Routes"],
        intro: "The SIP registrar and proxy: transports and ports, registration expiry, authentication and session timers.",
    },
    ConfigPage {
        slug: "h323",
        menu: Menu::Configuration,
        title: "H.323",
        roots: &["H323"],
        skip: &[],
        intro: "The H.323 gatekeeper: RAS and call signalling ports, registration lifetimes and conflicts.",
    },
    ConfigPage {
        slug: "interworking",
        menu: Menu::Configuration,
        title: "Interworking",
        roots: &["Interworking"],
        skip: &[],
        intro: "Calls between SIP and H.323 endpoints.",
    },
    ConfigPage {
        slug: "registration",
        menu: Menu::Configuration,
        title: "Registration policy",
        roots: &["Registration RestrictionPolicy"],
        skip: &[],
        intro: "Which aliases may register: everyone, only those on the allow list, everyone but those on the deny list, or as a policy service decides.",
    },
    ConfigPage {
        slug: "device-authentication",
        menu: Menu::Configuration,
        title: "Device authentication",
        roots: &["Authentication Remote", "Authentication LDAP", "Authentication H350", "Authentication ADS", "Authentication Certificate"],
        skip: &[],
        intro: "Where credentials of registering devices are checked, and the directories that hold them.",
    },
    ConfigPage {
        slug: "outbound-credentials",
        menu: Menu::Configuration,
        title: "Outbound connection credentials",
        roots: &["Authentication UserName", "Authentication Password"],
        skip: &[],
        intro: "The name and password this system gives when a neighbour asks it to authenticate.",
    },
    ConfigPage {
        slug: "dial-plan",
        menu: Menu::Configuration,
        title: "Dial plan",
        roots: &["Zones Policy Mode", "Call"],
        skip: &[],
        intro: "How calls are routed: by search rules or by directory, loop detection, and where unknown addresses go.",
    },
    ConfigPage {
        slug: "default-zone",
        menu: Menu::Configuration,
        title: "Default zone",
        roots: &["Zones DefaultZone"],
        skip: &[],
        intro: "Settings for calls from systems that are neither registered here nor in a configured zone.",
    },
    ConfigPage {
        slug: "local-zone",
        menu: Menu::Configuration,
        title: "Local zone",
        roots: &["Zones LocalZone DefaultSubZone", "Zones LocalZone TraversalSubZone", "Zones LocalZone SIP", "Zones LocalZone Traversal"],
        skip: &[],
        intro: "The default subzone (registrants no membership rule places elsewhere), the traversal subzone and traversal probes.",
    },
    ConfigPage {
        slug: "call-policy",
        menu: Menu::Configuration,
        title: "Call policy",
        roots: &["Policy AdministratorPolicy"],
        skip: &[],
        intro: "Whether a call policy applies, and the policy service that decides it.",
    },
    ConfigPage {
        slug: "bandwidth",
        menu: Menu::Configuration,
        title: "Bandwidth",
        roots: &["Bandwidth Default", "Bandwidth Downspeed"],
        skip: &[],
        intro: "The bandwidth a call asks for when it names none, and whether calls may be slowed down to fit a limit.",
    },
    ConfigPage {
        slug: "traversal",
        menu: Menu::Configuration,
        title: "Traversal",
        roots: &["Traversal"],
        skip: &[],
        intro: "Media ports for traversal calls and the TURN server.",
    },
    // Applications
    ConfigPage {
        slug: "conference-factory",
        menu: Menu::Applications,
        title: "Conference factory",
        roots: &["Applications ConferenceFactory"],
        skip: &[],
        intro: "An alias that creates a new conference alias for each call to it.",
    },
    ConfigPage {
        slug: "findme",
        menu: Menu::Applications,
        title: "FindMe",
        roots: &["Policy FindMe"],
        skip: &[],
        intro: "The FindMe service and the caller ID it presents.",
    },
    // Users
    ConfigPage {
        slug: "password-security",
        menu: Menu::Users,
        title: "Password security",
        roots: &["Authentication StrictPassword"],
        skip: &[],
        intro: "Rules every new local password must meet while strict passwords are on.",
    },
    ConfigPage {
        slug: "ldap",
        menu: Menu::Users,
        title: "Login sources and LDAP",
        roots: &["Login Source", "Login Remote"],
        skip: &[],
        intro: "Whether administrators log in with local accounts, directory accounts or both, and the directory to ask.",
    },
];

pub(crate) const TABLE_PAGES: &[TablePage] = &[
    TablePage {
        slug: "domains",
        menu: Menu::Configuration,
        title: "Domains",
        noun: "domain",
        table: "SIP Domain",
        columns: &["Name", "Sip", "Edge", "Authzone"],
        sort: "Name",
        variant: None,
        intro: "SIP domains this system is the registrar for.",
    },
    TablePage {
        slug: "allow-list",
        menu: Menu::Configuration,
        title: "Registration allow list",
        noun: "allow list entry",
        table: "Registration AllowList",
        columns: &["Pattern String", "Pattern Type", "Description"],
        sort: "Pattern String",
        variant: None,
        intro: "With the allow-list policy, only aliases that match an entry may register.",
    },
    TablePage {
        slug: "deny-list",
        menu: Menu::Configuration,
        title: "Registration deny list",
        noun: "deny list entry",
        table: "Registration DenyList",
        columns: &["Pattern String", "Pattern Type", "Description"],
        sort: "Pattern String",
        variant: None,
        intro: "With the deny-list policy, aliases that match an entry may not register.",
    },
    TablePage {
        slug: "transforms",
        menu: Menu::Configuration,
        title: "Transforms",
        noun: "transform",
        table: "Transform",
        columns: &["Priority", "Pattern Type", "Pattern String", "Pattern Behavior", "Pattern Replace", "Description", "State"],
        sort: "Priority",
        variant: None,
        intro: "Rewrites applied to every alias before any search; the first matching transform (lowest priority number) applies.",
    },
    TablePage {
        slug: "search-rules",
        menu: Menu::Configuration,
        title: "Search rules",
        noun: "search rule",
        table: "Zones Policy SearchRules Rule",
        columns: &["Priority", "Name", "Protocol", "Source Mode", "Pattern Type", "Pattern String", "Pattern Behavior", "Target Name", "Progress", "State"],
        sort: "Priority",
        variant: None,
        intro: "Where to look for an alias, in priority order (lowest number first); rules of equal priority are searched together.",
    },
    TablePage {
        slug: "zones",
        menu: Menu::Configuration,
        title: "Zones",
        noun: "zone",
        table: "Zones Zone",
        columns: &["Name", "Type", "SIP Mode", "H323 Mode", "HopCount"],
        sort: "Name",
        variant: Some("Type"),
        intro: "Other systems and DNS or ENUM lookups that searches can be sent to.",
    },
    TablePage {
        slug: "subzones",
        menu: Menu::Configuration,
        title: "Subzones",
        noun: "subzone",
        table: "Zones LocalZone SubZones SubZone",
        columns: &["Name", "Registrations", "Authentication Mode", "Bandwidth Total Mode"],
        sort: "Name",
        variant: None,
        intro: "Groups of local registrants with their own bandwidth and registration policy.",
    },
    TablePage {
        slug: "membership-rules",
        menu: Menu::Configuration,
        title: "Subzone membership rules",
        noun: "membership rule",
        table: "Zones LocalZone SubZones MembershipRules Rule",
        columns: &["Priority", "Name", "Type", "Subnet Address", "Subnet PrefixLength", "Pattern String", "SubZoneName", "State"],
        sort: "Priority",
        variant: None,
        intro: "Which subzone a registering device belongs to, by address or alias; the first matching rule wins.",
    },
    TablePage {
        slug: "policy-services",
        menu: Menu::Configuration,
        title: "Policy services",
        noun: "policy service",
        table: "Policy Services Service",
        columns: &["Name", "Protocol", "Path", "Description"],
        sort: "Name",
        variant: None,
        intro: "External services that search rules can ask where a call should go.",
    },
    TablePage {
        slug: "links",
        menu: Menu::Configuration,
        title: "Bandwidth links",
        noun: "link",
        table: "Bandwidth Link",
        columns: &["Name", "Node1 Name", "Node2 Name", "Pipe1 Name", "Pipe2 Name"],
        sort: "Name",
        variant: None,
        intro: "Connections between subzones and zones that calls cross, each through up to two pipes.",
    },
    TablePage {
        slug: "pipes",
        menu: Menu::Configuration,
        title: "Bandwidth pipes",
        noun: "pipe",
        table: "Bandwidth Pipe",
        columns: &["Name", "Bandwidth Total Mode", "Bandwidth Total Limit", "Bandwidth PerCall Mode", "Bandwidth PerCall Limit"],
        sort: "Name",
        variant: None,
        intro: "Bandwidth limits that links share.",
    },
    TablePage {
        slug: "sip-routes",
        menu: Menu::Configuration,
        title: "SIP routes",
        noun: "route",
        table: "SIP Routes Route",
        columns: &["Tag", "Method", "Request Line Pattern", "Address", "Port", "Transport"],
        sort: "Tag",
        variant: None,
        intro: "Requests matching a pattern are sent to a fixed address.",
    },
    TablePage {
        slug: "accounts",
        menu: Menu::Users,
        title: "Administrator accounts",
        noun: "account",
        table: "Authentication Account Admin Account",
        columns: &["Name", "AccessLevel", "AccessWeb", "AccessAPI", "Enabled", "Emergency", "ForcePasswordReset"],
        sort: "Name",
        variant: None,
        intro: "Local accounts that may log in to the web interface, the API or (admin only) SSH.",
    },
    TablePage {
        slug: "groups",
        menu: Menu::Users,
        title: "Administrator groups",
        noun: "group",
        table: "Authentication Account Admin Group",
        columns: &["Name", "AccessLevel", "AccessWeb", "AccessAPI", "Enabled"],
        sort: "Name",
        variant: None,
        intro: "Rights given to directory users by the groups they belong to.",
    },
    TablePage {
        slug: "option-keys",
        menu: Menu::Maintenance,
        title: "Option keys",
        noun: "option key",
        table: "Option",
        columns: &["Key"],
        sort: "Key",
        variant: None,
        intro: "Keys that unlock optional features.",
    },
];

/// The status a configuration page shows under its form: (xStatus path, the prefix of the
/// leaves to show, which is cut from their names).
pub(crate) fn page_status(slug: &str) -> Option<(&'static str, &'static str)> {
    match slug {
        "ldap" => Some(("Authentication", "LDAP Admin ")),
        _ => None,
    }
}

pub(crate) fn config_page(slug: &str) -> Option<&'static ConfigPage> {
    CONFIG_PAGES.iter().find(|p| p.slug == slug)
}

pub(crate) fn table_page(slug: &str) -> Option<&'static TablePage> {
    TABLE_PAGES.iter().find(|p| p.slug == slug)
}

/// One entry of a menu.
pub(crate) struct Item {
    pub menu: Menu,
    pub title: &'static str,
    pub href: String,
    /// Auditors see it.
    pub auditor: bool,
}

fn fixed(menu: Menu, title: &'static str, href: &str, auditor: bool) -> Item {
    Item {
        menu,
        title,
        href: href.to_string(),
        auditor,
    }
}

/// Every menu entry, in display order within each menu.
pub(crate) fn items() -> &'static [Item] {
    static ITEMS: std::sync::OnceLock<Vec<Item>> = std::sync::OnceLock::new();
    ITEMS.get_or_init(|| {
        let mut v = vec![
            fixed(Menu::Status, "Overview", "/", true),
            fixed(
                Menu::Status,
                "Registrations",
                "/status/registrations",
                false,
            ),
            fixed(Menu::Status, "Calls", "/status/calls", false),
            fixed(Menu::Status, "Search history", "/status/searches", false),
            fixed(Menu::Status, "Zones", "/status/zones", false),
            fixed(Menu::Status, "Policy services", "/status/policy", false),
            fixed(Menu::Status, "TURN relay usage", "/status/turn", false),
            fixed(Menu::Status, "Alarms", "/status/alarms", true),
            fixed(Menu::Status, "Event log", "/status/logs/event", true),
            fixed(
                Menu::Status,
                "Configuration log",
                "/status/logs/config",
                true,
            ),
        ];
        let order = |slugs: &[&str], v: &mut Vec<Item>| {
            for s in slugs {
                if let Some(p) = config_page(s) {
                    v.push(Item {
                        menu: p.menu,
                        title: p.title,
                        href: format!("/config/{}", p.slug),
                        auditor: false,
                    });
                } else if let Some(t) = table_page(s) {
                    v.push(Item {
                        menu: t.menu,
                        title: t.title,
                        href: format!("/table/{}", t.slug),
                        auditor: false,
                    });
                }
            }
        };
        order(
            &[
                "system-name",
                "administration",
                "network",
                "dns",
                "time",
                "qos",
                "snmp",
                "external-manager",
                "clustering",
            ],
            &mut v,
        );
        order(
            &[
                "sip",
                "h323",
                "interworking",
                "registration",
                "allow-list",
                "deny-list",
                "device-authentication",
                "outbound-credentials",
            ],
            &mut v,
        );
        v.push(fixed(
            Menu::Configuration,
            "Local authentication database",
            "/credentials",
            false,
        ));
        order(
            &[
                "domains",
                "dial-plan",
                "transforms",
                "search-rules",
                "zones",
                "default-zone",
                "local-zone",
                "subzones",
                "membership-rules",
                "call-policy",
                "policy-services",
                "bandwidth",
                "links",
                "pipes",
                "sip-routes",
                "traversal",
                "conference-factory",
                "findme",
                "accounts",
                "groups",
                "password-security",
                "ldap",
            ],
            &mut v,
        );
        v.push(fixed(
            Menu::Users,
            "Active sessions",
            "/users/sessions",
            false,
        ));
        v.push(fixed(Menu::Users, "Change password", "/password", true));
        v.push(fixed(
            Menu::Maintenance,
            "Check pattern",
            "/tools/check-pattern",
            false,
        ));
        v.push(fixed(Menu::Maintenance, "Locate", "/tools/locate", false));
        order(
            &[
                "maintenance-mode",
                "logging",
                "email-alerts",
                "incident-reporting",
                "option-keys",
            ],
            &mut v,
        );
        v.push(fixed(
            Menu::Maintenance,
            "Backup and restore",
            "/tools/backup",
            false,
        ));
        v.push(fixed(Menu::Maintenance, "Restart", "/tools/restart", false));
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_config::schema::{resolve, Resolved};

    #[test]
    fn every_page_names_parts_of_the_tree() {
        for p in CONFIG_PAGES {
            for r in p.roots.iter().chain(p.skip) {
                let words: Vec<&str> = r.split(' ').collect();
                assert!(resolve(&words).is_ok(), "{}: {r}", p.slug);
            }
        }
        for t in TABLE_PAGES {
            let mut words: Vec<&str> = t.table.split(' ').collect();
            words.push("1");
            let Ok(Resolved::Subtree { .. }) = resolve(&words) else {
                panic!("{} is not a table", t.table);
            };
            for c in t.columns {
                let path = format!("{} 1 {c}", t.table);
                let w: Vec<&str> = path.split(' ').collect();
                assert!(
                    matches!(resolve(&w), Ok(Resolved::Leaf { .. })),
                    "{}: column {c}",
                    t.slug
                );
            }
            assert!(t.columns.contains(&t.sort), "{}", t.slug);
        }
    }

    #[test]
    fn every_page_has_one_menu_entry() {
        let mut seen = std::collections::HashSet::new();
        for i in items() {
            assert!(seen.insert(i.href.clone()), "{} twice", i.href);
        }
        for p in CONFIG_PAGES {
            assert!(seen.contains(&format!("/config/{}", p.slug)), "{}", p.slug);
        }
        for t in TABLE_PAGES {
            assert!(seen.contains(&format!("/table/{}", t.slug)), "{}", t.slug);
        }
    }
}
