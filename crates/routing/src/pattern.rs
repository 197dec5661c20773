//! Compiled patterns and their application to aliases.

use std::error::Error as _;

use crate::replace::Replacement;
use crate::vars::{split, Piece, Variables};
use crate::{Behavior, PatternError, PatternType};

/// Deepest group nesting accepted in a regular expression. Real patterns are
/// at most 60 characters; the bound keeps the recursive parsers well inside
/// the stack for any input.
const MAX_NESTING: usize = 64;

/// Regex program size cap (bytes) handed to both engines. Generous for 200
/// alternated domains, small enough that a hostile pattern fails quickly.
const SIZE_LIMIT: usize = 4 << 20;

/// Stands in for a variable with no configured value: matches nothing, and
/// is understood by both regex engines.
const NEVER: &str = r"[^\s\S]";

/// A compiled alias pattern: compile once with [`Pattern::compile`], then
/// test aliases with [`Pattern::matches`] or rewrite them with
/// [`Pattern::apply`].
///
/// Matching never allocates for `Exact`/`Prefix`/`Suffix` patterns and for
/// regex `matches`; rewriting allocates the result (and, for a regex replace
/// string with `\N` references, the capture slots).
#[derive(Debug, Clone)]
pub struct Pattern {
    kind: PatternType,
    source: String,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// A variable in a non-regex pattern has no configured value.
    Never,
    /// Non-regex pattern whose variables all have exactly one value.
    Literal { text: Box<str>, ascii: bool },
    /// A regex pattern (anchored to the whole alias), or a non-regex pattern
    /// with a set-valued variable, compiled to a regex anchored per type.
    Regex(Engine),
}

#[derive(Debug, Clone)]
enum Engine {
    /// The `regex` crate: everything without look-around or backreferences.
    Std(regex::Regex),
    /// `fancy-regex`: look-ahead, look-behind, backreferences, atomic groups.
    Fancy(fancy_regex::Regex),
}

impl Engine {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Engine::Std(r) => r.is_match(s),
            // A run-time error (backtracking limit) counts as no match.
            Engine::Fancy(r) => r.is_match(s).unwrap_or(false),
        }
    }

    fn find(&self, s: &str) -> Option<(usize, usize)> {
        match self {
            Engine::Std(r) => r.find(s).map(|m| (m.start(), m.end())),
            Engine::Fancy(r) => r.find(s).ok().flatten().map(|m| (m.start(), m.end())),
        }
    }

    /// Number of groups including group 0.
    fn captures_len(&self) -> usize {
        match self {
            Engine::Std(r) => r.captures_len(),
            Engine::Fancy(r) => r.captures_len(),
        }
    }

    /// Expand `rep` against the match of `s` into `out`; false if no match.
    fn expand(&self, s: &str, rep: &Replacement, out: &mut String) -> bool {
        match self {
            Engine::Std(r) => match r.captures(s) {
                Some(caps) => {
                    rep.expand_into(out, |g| caps.get(g).map(|m| m.as_str()));
                    true
                }
                None => false,
            },
            Engine::Fancy(r) => match r.captures(s) {
                Ok(Some(caps)) => {
                    rep.expand_into(out, |g| caps.get(g).map(|m| m.as_str()));
                    true
                }
                _ => false,
            },
        }
    }
}

impl Pattern {
    /// Compile `text` as a pattern of type `kind`, expanding pattern
    /// variables from `vars` first.
    ///
    /// * `Exact` / `Prefix` / `Suffix`: a variable that stands for several
    ///   values (`%localdomains%`, `%ip%`, ...) makes the pattern match when
    ///   the alias matches with *any* of them; for `Prefix`/`Suffix` the
    ///   longest matching value is the one stripped or replaced. A variable
    ///   with no configured value makes the pattern match nothing.
    /// * `Regex`: each variable becomes a non-capturing group of its escaped
    ///   values (`(?:a\.com|b\.com)`), so group numbers are the ones the
    ///   administrator sees; with no value it becomes a construct that
    ///   matches nothing. `\%ip%` keeps `%ip%` as text. The expression must
    ///   match the whole alias and ignores case; look-ahead `(?=..)`,
    ///   `(?!..)`, look-behind `(?<=..)`, `(?<!..)` and backreferences are
    ///   supported.
    pub fn compile(kind: PatternType, text: &str, vars: &Variables) -> Result<Self, PatternError> {
        let matcher = match kind {
            PatternType::Regex => compile_regex(text, vars)?,
            _ => compile_plain(kind, text, vars)?,
        };
        Ok(Pattern {
            kind,
            source: text.to_owned(),
            matcher,
        })
    }

    /// The pattern type.
    pub fn kind(&self) -> PatternType {
        self.kind
    }

    /// The pattern text as configured (variables not expanded).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Number of capture groups a replace string may refer to (`\1`..), not
    /// counting the whole match. Always 0 for non-regex patterns.
    pub fn group_count(&self) -> usize {
        match (&self.kind, &self.matcher) {
            (PatternType::Regex, Matcher::Regex(e)) => e.captures_len().saturating_sub(1),
            _ => 0,
        }
    }

    /// Whether `alias` matches.
    pub fn matches(&self, alias: &str) -> bool {
        match &self.matcher {
            Matcher::Never => false,
            Matcher::Literal { text, ascii } => {
                literal_span(self.kind, text, *ascii, alias).is_some()
            }
            Matcher::Regex(e) => e.is_match(alias),
        }
    }

    /// The byte range of `alias` the pattern matched: the prefix, the
    /// suffix, or (`Exact`, `Regex`) the whole alias.
    pub fn match_span(&self, alias: &str) -> Option<std::ops::Range<usize>> {
        let (s, e) = match &self.matcher {
            Matcher::Never => return None,
            Matcher::Literal { text, ascii } => literal_span(self.kind, text, *ascii, alias)?,
            Matcher::Regex(engine) if self.kind == PatternType::Regex => {
                if engine.is_match(alias) {
                    (0, alias.len())
                } else {
                    return None;
                }
            }
            Matcher::Regex(engine) => engine.find(alias)?,
        };
        Some(s..e)
    }

    /// `Some(new alias)` when the alias matches, `None` otherwise.
    ///
    /// `replace` is the replace string (for `Replace`) or the additional
    /// text (for `AddPrefix`/`AddSuffix`); `Strip` and `Leave` ignore it. It
    /// is parsed leniently on every call (see [`Replacement`]): a set-valued
    /// variable such as `%ip%` stays literal text. For repeated use, build a
    /// [`crate::Transform`] once instead.
    pub fn apply(
        &self,
        alias: &str,
        behavior: Behavior,
        replace: &str,
        vars: &Variables,
    ) -> Option<String> {
        if behavior.uses_replace() {
            let rep = Replacement::parse_lenient(self.kind, replace, vars);
            self.apply_with(alias, behavior, &rep)
        } else {
            self.apply_with(alias, behavior, &Replacement::default())
        }
    }

    /// Like [`Pattern::apply`] with an already parsed replace string.
    pub fn apply_with(&self, alias: &str, behavior: Behavior, rep: &Replacement) -> Option<String> {
        if self.kind == PatternType::Regex {
            let Matcher::Regex(engine) = &self.matcher else {
                return None;
            };
            return match behavior {
                Behavior::Leave => engine.is_match(alias).then(|| alias.to_owned()),
                Behavior::Strip => engine.is_match(alias).then(String::new),
                Behavior::Replace | Behavior::AddPrefix | Behavior::AddSuffix => {
                    let mut out = String::with_capacity(alias.len() + rep.literal_len());
                    if behavior == Behavior::AddSuffix {
                        out.push_str(alias);
                    }
                    if rep.needs_groups() {
                        if !engine.expand(alias, rep, &mut out) {
                            return None;
                        }
                    } else if engine.is_match(alias) {
                        rep.expand_plain(&mut out);
                    } else {
                        return None;
                    }
                    if behavior == Behavior::AddPrefix {
                        out.push_str(alias);
                    }
                    Some(out)
                }
            };
        }

        let span = self.match_span(alias)?;
        let mut out = String::with_capacity(alias.len() + rep.literal_len());
        match behavior {
            Behavior::Leave => out.push_str(alias),
            Behavior::Strip => {
                out.push_str(&alias[..span.start]);
                out.push_str(&alias[span.end..]);
            }
            Behavior::Replace => {
                out.push_str(&alias[..span.start]);
                rep.expand_plain(&mut out);
                out.push_str(&alias[span.end..]);
            }
            Behavior::AddPrefix => {
                rep.expand_plain(&mut out);
                out.push_str(alias);
            }
            Behavior::AddSuffix => {
                out.push_str(alias);
                rep.expand_plain(&mut out);
            }
        }
        Some(out)
    }
}

/// A pattern, a behaviour and a replace string compiled together: the unit
/// used by pre-search transforms, search-rule zone transforms and
/// `xCommand CheckPattern`.
#[derive(Debug, Clone)]
pub struct Transform {
    pattern: Pattern,
    behavior: Behavior,
    replacement: Replacement,
}

impl Transform {
    /// Compile. The replace string is parsed strictly (only when the
    /// behaviour uses it): a set-valued variable (`%ip%`, `%ipv4%`,
    /// `%ipv6%`, `%localdomains%`) or a `\N` beyond the regex's groups is an
    /// error.
    pub fn new(
        kind: PatternType,
        pattern: &str,
        behavior: Behavior,
        replace: &str,
        vars: &Variables,
    ) -> Result<Self, PatternError> {
        let pattern = Pattern::compile(kind, pattern, vars)?;
        let replacement = if behavior.uses_replace() {
            Replacement::parse(kind, replace, vars)?
        } else {
            Replacement::default()
        };
        let groups = pattern.group_count();
        if replacement.max_group() > groups {
            return Err(PatternError::NoSuchGroup {
                group: replacement.max_group(),
                groups,
            });
        }
        Ok(Transform {
            pattern,
            behavior,
            replacement,
        })
    }

    /// The compiled pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The behaviour.
    pub fn behavior(&self) -> Behavior {
        self.behavior
    }

    /// `Some(new alias)` when `alias` matches, `None` otherwise.
    pub fn apply(&self, alias: &str) -> Option<String> {
        self.pattern
            .apply_with(alias, self.behavior, &self.replacement)
    }
}

// ---------------------------------------------------------------------------
// Exact / Prefix / Suffix

fn compile_plain(kind: PatternType, text: &str, vars: &Variables) -> Result<Matcher, PatternError> {
    let pieces = split(text, false);
    let mut single = String::with_capacity(text.len());
    let mut set_valued = false;
    for piece in &pieces {
        match *piece {
            Piece::Text(t) => single.push_str(t),
            Piece::Var(v, _) => {
                let values = v.pattern_values(vars);
                match values.as_slice() {
                    [] => return Ok(Matcher::Never),
                    [one] => single.push_str(one),
                    _ => set_valued = true,
                }
            }
        }
    }
    if !set_valued {
        let ascii = single.is_ascii();
        return Ok(Matcher::Literal {
            text: single.into_boxed_str(),
            ascii,
        });
    }

    // At least one variable stands for several values: build an equivalent
    // regex, anchored as the type demands.
    let mut re = String::from("(?i)");
    if kind != PatternType::Suffix {
        re.push('^');
    }
    re.push_str("(?:");
    for piece in &pieces {
        match *piece {
            Piece::Text(t) => push_escaped(&mut re, t),
            Piece::Var(v, _) => push_alternation(&mut re, &v.pattern_values(vars)),
        }
    }
    re.push(')');
    if kind != PatternType::Prefix {
        re.push('$');
    }
    regex::RegexBuilder::new(&re)
        .size_limit(SIZE_LIMIT)
        .build()
        .map(|r| Matcher::Regex(Engine::Std(r)))
        .map_err(|e| PatternError::TooComplex {
            pattern: text.to_owned(),
            reason: e.to_string(),
        })
}

/// Case-insensitive literal match; returns the matched byte range.
fn literal_span(
    kind: PatternType,
    pat: &str,
    pat_ascii: bool,
    alias: &str,
) -> Option<(usize, usize)> {
    if pat_ascii && alias.is_ascii() {
        let (a, p) = (alias.as_bytes(), pat.as_bytes());
        if p.len() > a.len() {
            return None;
        }
        return match kind {
            PatternType::Exact => {
                (a.len() == p.len() && a.eq_ignore_ascii_case(p)).then_some((0, a.len()))
            }
            PatternType::Suffix => {
                let start = a.len() - p.len();
                a[start..]
                    .eq_ignore_ascii_case(p)
                    .then_some((start, a.len()))
            }
            _ => a[..p.len()].eq_ignore_ascii_case(p).then_some((0, p.len())),
        };
    }
    match kind {
        PatternType::Exact => {
            let end = prefix_len(alias, pat)?;
            (end == alias.len()).then_some((0, end))
        }
        PatternType::Suffix => suffix_start(alias, pat).map(|s| (s, alias.len())),
        _ => prefix_len(alias, pat).map(|e| (0, e)),
    }
}

/// One-character lower-case mapping (characters whose lower case is longer
/// than one character compare as themselves).
fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn same(a: char, b: char) -> bool {
    a == b || fold(a) == fold(b)
}

/// Byte length of the prefix of `alias` that equals `pat` ignoring case.
fn prefix_len(alias: &str, pat: &str) -> Option<usize> {
    let mut chars = alias.char_indices();
    for p in pat.chars() {
        let (_, a) = chars.next()?;
        if !same(a, p) {
            return None;
        }
    }
    Some(chars.next().map_or(alias.len(), |(i, _)| i))
}

/// Byte offset where the suffix of `alias` that equals `pat` starts.
fn suffix_start(alias: &str, pat: &str) -> Option<usize> {
    let mut chars = alias.char_indices().rev();
    let mut start = alias.len();
    for p in pat.chars().rev() {
        let (i, a) = chars.next()?;
        if !same(a, p) {
            return None;
        }
        start = i;
    }
    Some(start)
}

// ---------------------------------------------------------------------------
// Regex

/// Append `text` so that it matches itself literally in either engine, even
/// inside a pattern that switched on `(?x)`.
fn push_escaped(re: &mut String, text: &str) {
    for c in text.chars() {
        if regex_syntax::is_meta_character(c) {
            re.push('\\');
            re.push(c);
        } else if c.is_whitespace() {
            re.push_str(&format!("\\x{{{:X}}}", c as u32));
        } else {
            re.push(c);
        }
    }
}

fn push_alternation(re: &mut String, values: &[&str]) {
    if values.is_empty() {
        re.push_str(NEVER);
        return;
    }
    re.push_str("(?:");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            re.push('|');
        }
        push_escaped(re, v);
    }
    re.push(')');
}

fn invalid(pattern: &str, reason: impl Into<String>) -> PatternError {
    PatternError::InvalidRegex {
        pattern: pattern.to_owned(),
        reason: reason.into(),
    }
}

/// Short reason from a `regex-syntax` error (its `Display` is a multi-line
/// picture of the pattern).
fn syntax_reason(e: &regex_syntax::Error) -> String {
    match e {
        regex_syntax::Error::Parse(p) => p.kind().to_string(),
        regex_syntax::Error::Translate(t) => t.kind().to_string(),
        other => other.to_string(),
    }
}

/// Short reason from a `regex` build error (the expression itself already
/// parsed, so this is a size limit or a `(?x)` comment that swallowed the
/// closing anchor).
fn std_build_reason(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(msg) => msg
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(msg)
            .to_owned(),
        other => other.to_string(),
    }
}

/// Short reason from a `fancy-regex` error. For the parts it hands to the
/// `regex` engine, the explanation comes from that engine's parser.
fn fancy_reason(e: &fancy_regex::Error) -> String {
    if let fancy_regex::Error::CompileError(ce) = e {
        if let fancy_regex::CompileError::InnerError(build) = &**ce {
            if let Some(se) = build.syntax_error() {
                return syntax_reason(se);
            }
            let mut reason = build.to_string();
            let mut cur = build.source();
            while let Some(err) = cur {
                reason = err.to_string();
                cur = err.source();
            }
            return reason;
        }
    }
    e.to_string()
}

/// Copy of `re` where look-around openers become plain groups and `\1`..`\9`
/// become empty groups, so the plain parser can judge the rest.
fn neutralise_fancy(re: &str) -> String {
    let mut out = String::with_capacity(re.len());
    let mut rest = re;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            let mut it = rest.chars();
            it.next();
            match it.next() {
                Some(d @ '1'..='9') => {
                    out.push_str("(?:)");
                    rest = &rest[1 + d.len_utf8()..];
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                    rest = &rest[1 + other.len_utf8()..];
                }
                None => {
                    out.push('\\');
                    rest = "";
                }
            }
            continue;
        }
        let opener = ["(?<=", "(?<!", "(?=", "(?!"]
            .into_iter()
            .find(|o| rest.starts_with(o));
        if let Some(o) = opener {
            out.push_str("(?:");
            rest = &rest[o.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn nesting_depth(re: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn compile_regex(text: &str, vars: &Variables) -> Result<Matcher, PatternError> {
    let mut expanded = String::with_capacity(text.len() + 16);
    for piece in split(text, true) {
        match piece {
            Piece::Text(t) => expanded.push_str(t),
            Piece::Var(v, _) => push_alternation(&mut expanded, &v.pattern_values(vars)),
        }
    }
    if nesting_depth(&expanded) > MAX_NESTING {
        return Err(invalid(
            text,
            format!("groups are nested more than {MAX_NESTING} deep"),
        ));
    }

    // Validate the expression on its own first: wrapping an unbalanced
    // expression such as `a)|(b` could otherwise turn it into a valid one.
    let wrapped = format!("(?i)^(?:{expanded})$");
    let std_err = match regex_syntax::Parser::new().parse(&expanded) {
        Ok(_) => {
            return regex::RegexBuilder::new(&wrapped)
                .size_limit(SIZE_LIMIT)
                .build()
                .map(|r| Matcher::Regex(Engine::Std(r)))
                .map_err(|e| invalid(text, std_build_reason(&e)));
        }
        Err(e) => e,
    };

    // The plain engine lacks look-around and backreferences; for anything
    // else it objected to, its explanation stands.
    let needs_fancy = match &std_err {
        regex_syntax::Error::Parse(p) => matches!(
            p.kind(),
            regex_syntax::ast::ErrorKind::UnsupportedLookAround
                | regex_syntax::ast::ErrorKind::UnsupportedBackreference
        ),
        _ => false,
    };
    if !needs_fancy {
        return Err(invalid(text, syntax_reason(&std_err)));
    }
    // fancy-regex is more forgiving than the plain parser (it reads a
    // malformed `{` as text, accepts `a{3,1}`, ...). Hold everything except
    // the look-around and backreferences to the plain parser's rules by
    // checking a copy with those constructs neutralised.
    if let Err(e) = regex_syntax::Parser::new().parse(&neutralise_fancy(&expanded)) {
        return Err(invalid(text, syntax_reason(&e)));
    }
    fancy_regex::RegexBuilder::new(&wrapped)
        .delegate_size_limit(SIZE_LIMIT)
        .build()
        .map(|r| Matcher::Regex(Engine::Fancy(r)))
        .map_err(|fe| invalid(text, fancy_reason(&fe)))
}
