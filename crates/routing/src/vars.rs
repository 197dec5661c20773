//! Pattern variables (`%systemname%`, `%localdomains%`, `%ip%`, ...).
//!
//! A variable is a name between two `%` signs; names are matched ignoring
//! ASCII case. Text that looks like a variable but names none (`%40`,
//! `%foo%`, `%localdomain0%`, `%localdomain201%`) is ordinary text.

/// The live configuration values that pattern variables stand for.
///
/// * `system_name` — `xConfiguration SystemUnit Name` (`%systemname%`).
/// * `local_domains` — the SIP domain list in index order: element 0 is
///   `%localdomain1%`, element 199 is `%localdomain200%`; all of them together
///   are `%localdomains%`.
/// * `ipv4` / `ipv6` — interface addresses laid out in LAN pairs:
///   `[lan1, lan2]` for this box. A clustered box may append one pair per
///   other peer (`[lan1, lan2, peer_b_lan1, peer_b_lan2, ...]`); in a
///   *pattern* `%ipv4_1%` then stands for every peer's LAN 1 address (even
///   indexes), while in a *replace string* it is always this box's own
///   (index 0). Empty strings mean "not configured" and are skipped.
///
/// Addresses are compared as text (ignoring case), so supply them in the
/// canonical form aliases will use (RFC 5952 for IPv6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables {
    /// `%systemname%`.
    pub system_name: String,
    /// `%localdomains%` / `%localdomainN%` (index 0 = domain 1).
    pub local_domains: Vec<String>,
    /// IPv4 addresses per LAN: `[lan1, lan2, (peer lan1, peer lan2)...]`.
    pub ipv4: Vec<String>,
    /// IPv6 addresses per LAN, same layout as `ipv4`.
    pub ipv6: Vec<String>,
}

/// Highest `%localdomainN%` index (the domain list holds at most 200).
pub const MAX_LOCAL_DOMAIN_INDEX: usize = 200;

/// An identified variable reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Var {
    LocalDomains,
    /// 1-based index.
    LocalDomain(usize),
    Ip,
    Ipv4,
    Ipv6,
    /// LAN 1 or 2.
    Ipv4Lan(usize),
    /// LAN 1 or 2.
    Ipv6Lan(usize),
    SystemName,
}

impl Var {
    /// Recognise a variable at the start of `s` (which must begin with `%`).
    /// Returns the variable and the byte length of the whole `%name%` token.
    pub(crate) fn parse_at(s: &str) -> Option<(Var, usize)> {
        let rest = s.strip_prefix('%')?;
        // The longest name is "localdomain200" (14 bytes); look no further.
        let end = rest.bytes().take(16).position(|b| b == b'%')?;
        let name = &rest[..end];
        let var = Var::from_name(name)?;
        Some((var, end + 2))
    }

    fn from_name(name: &str) -> Option<Var> {
        let lower = |want: &str| name.eq_ignore_ascii_case(want);
        if lower("localdomains") {
            return Some(Var::LocalDomains);
        }
        if lower("ip") {
            return Some(Var::Ip);
        }
        if lower("ipv4") {
            return Some(Var::Ipv4);
        }
        if lower("ipv6") {
            return Some(Var::Ipv6);
        }
        if lower("ipv4_1") {
            return Some(Var::Ipv4Lan(1));
        }
        if lower("ipv4_2") {
            return Some(Var::Ipv4Lan(2));
        }
        if lower("ipv6_1") {
            return Some(Var::Ipv6Lan(1));
        }
        if lower("ipv6_2") {
            return Some(Var::Ipv6Lan(2));
        }
        if lower("systemname") {
            return Some(Var::SystemName);
        }
        let head = name.get(..11)?;
        if head.eq_ignore_ascii_case("localdomain") {
            let digits = &name[11..];
            // Plain decimal without a leading zero: 1..=200.
            if digits.is_empty()
                || digits.len() > 3
                || digits.starts_with('0')
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let n: usize = digits.parse().ok()?;
            if (1..=MAX_LOCAL_DOMAIN_INDEX).contains(&n) {
                return Some(Var::LocalDomain(n));
            }
        }
        None
    }

    /// The canonical `%name%` spelling, for messages.
    pub(crate) fn token(self) -> String {
        match self {
            Var::LocalDomains => "%localdomains%".into(),
            Var::LocalDomain(n) => format!("%localdomain{n}%"),
            Var::Ip => "%ip%".into(),
            Var::Ipv4 => "%ipv4%".into(),
            Var::Ipv6 => "%ipv6%".into(),
            Var::Ipv4Lan(n) => format!("%ipv4_{n}%"),
            Var::Ipv6Lan(n) => format!("%ipv6_{n}%"),
            Var::SystemName => "%systemname%".into(),
        }
    }

    /// Every value this variable matches when it appears in a pattern:
    /// non-empty, without case-insensitive duplicates, longest first.
    pub(crate) fn pattern_values(self, vars: &Variables) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        // Index i belongs to LAN (i % 2) + 1 of peer i / 2.
        fn lan(list: &[String], lan: usize) -> impl Iterator<Item = &str> {
            list.iter()
                .enumerate()
                .filter(move |(i, _)| i % 2 == lan - 1)
                .map(|(_, s)| s.as_str())
        }
        match self {
            Var::LocalDomains => out.extend(vars.local_domains.iter().map(String::as_str)),
            Var::LocalDomain(n) => out.extend(vars.local_domains.get(n - 1).map(String::as_str)),
            Var::Ip => {
                out.extend(vars.ipv4.iter().map(String::as_str));
                out.extend(vars.ipv6.iter().map(String::as_str));
            }
            Var::Ipv4 => out.extend(vars.ipv4.iter().map(String::as_str)),
            Var::Ipv6 => out.extend(vars.ipv6.iter().map(String::as_str)),
            Var::Ipv4Lan(n) => out.extend(lan(&vars.ipv4, n)),
            Var::Ipv6Lan(n) => out.extend(lan(&vars.ipv6, n)),
            Var::SystemName => out.push(&vars.system_name),
        }
        out.retain(|v| !v.is_empty());
        let mut unique: Vec<&str> = Vec::with_capacity(out.len());
        for v in out {
            if !unique.iter().any(|u| u.eq_ignore_ascii_case(v)) {
                unique.push(v);
            }
        }
        // Longest first: with leftmost-first alternation this makes a Prefix
        // pattern consume the most specific value.
        unique.sort_by_key(|v| std::cmp::Reverse(v.len()));
        unique
    }

    /// The value this variable stands for in a replace string, or `None`
    /// when the variable has no meaning there (it stands for a set of
    /// values: `%ip%`, `%ipv4%`, `%ipv6%`, `%localdomains%`).
    pub(crate) fn replace_value(self, vars: &Variables) -> Option<&str> {
        fn pick(list: &[String], i: usize) -> &str {
            list.get(i).map(String::as_str).unwrap_or("")
        }
        match self {
            Var::LocalDomains | Var::Ip | Var::Ipv4 | Var::Ipv6 => None,
            Var::LocalDomain(n) => Some(pick(&vars.local_domains, n - 1)),
            Var::Ipv4Lan(n) => Some(pick(&vars.ipv4, n - 1)),
            Var::Ipv6Lan(n) => Some(pick(&vars.ipv6, n - 1)),
            Var::SystemName => Some(&vars.system_name),
        }
    }
}

/// A piece of a pattern or replace string: literal text or a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    /// The variable and its spelling in the source text.
    Var(Var, &'a str),
}

/// Split `text` into literal runs and variables.
///
/// With `honour_escapes` (regular expressions and regex replace strings) a
/// backslash protects the character after it, so `\%ip%` is the literal text
/// `%ip%` as far as variables are concerned (the backslash is kept for the
/// later stage to interpret).
pub(crate) fn split(text: &str, honour_escapes: bool) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0; // start of the pending literal run
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if honour_escapes => {
                // Skip the backslash and the whole (possibly multi-byte)
                // character after it.
                i += 1;
                if let Some(c) = text[i..].chars().next() {
                    i += c.len_utf8();
                }
            }
            b'%' => {
                if let Some((var, len)) = Var::parse_at(&text[i..]) {
                    if start < i {
                        pieces.push(Piece::Text(&text[start..i]));
                    }
                    pieces.push(Piece::Var(var, &text[i..i + len]));
                    i += len;
                    start = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    if start < text.len() {
        pieces.push(Piece::Text(&text[start..]));
    }
    pieces
}
