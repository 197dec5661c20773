//! Regenerates `crates/h323-asn1/src/generated/` from the ITU-T modules in `crates/h323-asn1/asn1/`.
//!
//! Run it through `crates/h323-asn1/generate`. The module files stay exactly as ITU-T published
//! them; everything rasn-compiler or rasn needs is changed here, on copies of the text, by the
//! small transformations in [`FIXES`]. Each one states why it is needed and why the aligned-PER
//! encoding stays the same, and each checks that it changed what it expected to change, so a new
//! module text or compiler release cannot make one silently do nothing. What every fix changed is
//! listed in `src/generated/FIXES.md`.
//!
//! Usage: `causeway-h323-asn1-generator ASN1_DIR OUT_DIR PATCHED_DIR`

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use rasn_compiler::prelude::*;
use regex::Regex;

/// The modules, in the order given to the compiler: file name and the Rust module rasn-compiler
/// names after the ASN.1 module.
const MODULES: &[(&str, &str)] = &[
    ("H235-SECURITY-MESSAGES.asn", "h235_security_messages"),
    ("H323-MESSAGES.asn", "h323_messages"),
    ("MULTIMEDIA-SYSTEM-CONTROL.asn", "multimedia_system_control"),
    ("SIGNALLING-TRAVERSAL.asn", "signalling_traversal"),
    ("MEDIA-TRAVERSAL.asn", "media_traversal"),
];

const H235: &str = "H235-SECURITY-MESSAGES.asn";
const H245: &str = "MULTIMEDIA-SYSTEM-CONTROL.asn";
const H460_19: &str = "MEDIA-TRAVERSAL.asn";

/// The module texts being transformed, by file name.
type Texts = BTreeMap<&'static str, String>;

/// One transformation of the module text.
struct Fix {
    name: &'static str,
    /// Why it is needed and why the wire encoding does not change (copied into FIXES.md).
    why: &'static str,
    apply: fn(&mut Texts, &mut Vec<String>),
}

const FIXES: &[Fix] = &[
    Fix {
        name: "A. Keyword pairs on one line",
        why: "rasn-compiler 0.16's lexer reads `OBJECT IDENTIFIER` and `OCTET STRING` only with \
              exactly one space between the two words; the H.235 text breaks `OBJECT IDENTIFIER` \
              over two lines three times. Only white space changes.",
        apply: fix_keyword_pairs,
    },
    Fix {
        name: "1. Unique type names across modules",
        why: "rasn-compiler resolves a type reference by name across all modules, so a name that \
              two modules define can resolve to the other module's type. It did: H.235 \
              `SIGNED{}`/`ENCRYPTED{}`/`HASHED{}` were instantiated with H.245's `Params` (three \
              components instead of five) in every H.225.0 crypto token. The H.245 copies of \
              `Params`, `IV8`, `IV16`, `Password`, `NonStandardParameter`, `NonStandardIdentifier`, \
              `NonStandardMessage` and `TransportAddress` get an `H245` prefix (also in \
              MEDIA-TRAVERSAL, which imports `TransportAddress` from H.245), and H.235's \
              `NonStandardParameter` becomes `H235NonStandardParameter`; H.225.0 keeps its names. \
              Type reference names are not encoded in PER.",
        apply: fix_unique_names,
    },
    Fix {
        name: "2. Mandatory extension additions become OPTIONAL",
        why: "A component after the extension marker that is not OPTIONAL is still absent in \
              messages from endpoints built on an older version of the module (an H.225.0 v2 \
              RRQ has no `keepAlive`), and X.691 lets a decoder accept that; rasn rejects it. \
              Marking such a component OPTIONAL makes it `Option<T>` in Rust. The encoding is \
              the same: an extension addition always has its presence bit in the extension \
              bit-map, OPTIONAL or not. Senders must still fill these fields.",
        apply: fix_optional_extension_additions,
    },
    Fix {
        name: "3. Constraints repeated on extension additions",
        why: "For a component after the extension marker, rasn 0.30 loses the constraint of \
              the referenced type: `timeToLive TimeToLive` (TimeToLive ::= INTEGER \
              (1..4294967295)) was coded as an unconstrained INTEGER, and an RRQ from pycrate \
              did not decode. Where an extension addition names a type whose \
              definition is a built-in type with a constraint, the constraint is written again \
              on the component (`timeToLive TimeToLive (1..4294967295)`). A type constrained \
              twice by the same constraint has the same values, so the encoding X.691 asks for \
              does not change; only rasn now sees it.",
        apply: fix_extension_constraints,
    },
];

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [asn1_dir, out_dir, patched_dir] = args.as_slice() else {
        eprintln!("usage: causeway-h323-asn1-generator ASN1_DIR OUT_DIR PATCHED_DIR");
        std::process::exit(2);
    };

    let mut texts = Texts::new();
    for (file, _) in MODULES {
        let text = fs::read_to_string(asn1_dir.join(file))
            .unwrap_or_else(|e| panic!("reading {}: {e}", asn1_dir.join(file).display()));
        texts.insert(file, text);
    }

    let mut report = String::from(
        "<!-- @generated by crates/h323-asn1/generate: do not edit. -->\n\
         # Module-text fixes applied before generation\n\n\
         The files in `asn1/` are the ITU-T texts, unchanged. `generate` applies these \
         transformations to copies of them (in the order below) before rasn-compiler reads \
         them; `generator/src/main.rs` implements each one.\n",
    );
    // For experiments: H323_ASN1_SKIP_FIX=3 leaves out the fix whose name starts with "3".
    let skip = std::env::var("H323_ASN1_SKIP_FIX").unwrap_or_default();
    for fix in FIXES {
        if !skip.is_empty() && fix.name.starts_with(skip.as_str()) {
            eprintln!("{}: skipped (H323_ASN1_SKIP_FIX)", fix.name);
            continue;
        }
        let mut changes = Vec::new();
        (fix.apply)(&mut texts, &mut changes);
        assert!(!changes.is_empty(), "fix {:?} changed nothing", fix.name);
        eprintln!("{}: {} change(s)", fix.name, changes.len());
        let _ = write!(report, "\n## {}\n\n{}\n\n", fix.name, fix.why);
        for change in changes {
            let _ = writeln!(report, "- {change}");
        }
    }

    fs::create_dir_all(patched_dir).expect("creating the patched-module folder");
    let mut paths = Vec::new();
    for (file, _) in MODULES {
        let path = patched_dir.join(file);
        fs::write(&path, &texts[file]).expect("writing a patched module");
        paths.push(path);
    }

    let config = RasnConfig {
        // `Any` for open types: they arrive as the bytes of the open-type field.
        opaque_open_types: true,
        ..RasnConfig::default()
    };
    let result = Compiler::<RasnBackend, _>::new_with_config(config)
        .add_asn_sources_by_path(paths.iter())
        .compile_to_string()
        .unwrap_or_else(|e| {
            eprintln!("rasn-compiler failed: {e}");
            std::process::exit(1);
        });
    for warning in &result.warnings {
        eprintln!("rasn-compiler warning: {warning}");
    }
    assert!(
        result.warnings.is_empty(),
        "rasn-compiler warned; the generated code would be incomplete"
    );

    write_modules(&result.generated, out_dir);
    fs::write(out_dir.join("FIXES.md"), report).expect("writing FIXES.md");
}

/// Splits the compiler's output (one `pub mod` per ASN.1 module) into one file per module and
/// writes `mod.rs`. The module's attributes become inner attributes of its file.
fn write_modules(generated: &str, out_dir: &Path) {
    let file = syn::parse_file(generated).expect("rasn-compiler output is not valid Rust");
    fs::create_dir_all(out_dir).expect("creating the output folder");
    let mut mod_rs = String::from(
        "// @generated by crates/h323-asn1/generate (rasn-compiler 0.16.0): do not edit.\n\
         //! The rasn bindings generated from the ASN.1 modules in `asn1/`.\n\n",
    );
    let mut written = Vec::new();
    for item in file.items {
        let syn::Item::Mod(module) = item else {
            panic!("unexpected top-level item in rasn-compiler output");
        };
        let name = module.ident.to_string();
        let (file_name, _) = MODULES
            .iter()
            .find(|(_, m)| *m == name)
            .map(|(f, _)| (f, ()))
            .unwrap_or_else(|| panic!("unexpected module {name}"));
        let (_, items) = module.content.expect("inline module");
        let attrs = module
            .attrs
            .into_iter()
            .map(|mut a| {
                a.style = syn::AttrStyle::Inner(Default::default());
                a
            })
            .collect();
        let body = prettyplease::unparse(&syn::File {
            shebang: None,
            attrs,
            items,
        });
        let text = format!(
            "// @generated by crates/h323-asn1/generate from asn1/{file_name} \
             (rasn-compiler 0.16.0): do not edit.\n{body}"
        );
        fs::write(out_dir.join(format!("{name}.rs")), text).expect("writing a module");
        let _ = writeln!(mod_rs, "pub mod {name};");
        written.push(name);
    }
    assert_eq!(
        written.len(),
        MODULES.len(),
        "a module is missing from the output"
    );
    fs::write(out_dir.join("mod.rs"), mod_rs).expect("writing mod.rs");
}

// ---------------------------------------------------------------------------------------------
// A. Keyword pairs

fn fix_keyword_pairs(texts: &mut Texts, changes: &mut Vec<String>) {
    let pair = Regex::new(r"\b(OBJECT|OCTET)([ \t]*\n[ \t\n]*|[ \t]{2,})(IDENTIFIER|STRING)\b")
        .expect("regex");
    for (file, text) in texts.iter_mut() {
        let mut n = 0;
        let new = pair.replace_all(text, |c: &regex::Captures| {
            n += 1;
            format!("{} {}", &c[1], &c[3])
        });
        if n > 0 {
            *text = new.into_owned();
            changes.push(format!("{file}: {n} pair(s) joined"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Unique names

/// (module whose definition is renamed, old name, new name, modules importing it from there)
const RENAMES: &[(&str, &str, &str, &[&str])] = &[
    (H245, "Params", "H245Params", &[]),
    (H245, "IV8", "H245IV8", &[]),
    (H245, "IV16", "H245IV16", &[]),
    (H245, "Password", "H245Password", &[]),
    (
        H245,
        "NonStandardParameter",
        "H245NonStandardParameter",
        &[],
    ),
    (
        H245,
        "NonStandardIdentifier",
        "H245NonStandardIdentifier",
        &[],
    ),
    (H245, "NonStandardMessage", "H245NonStandardMessage", &[]),
    (H245, "TransportAddress", "H245TransportAddress", &[H460_19]),
    (
        H235,
        "NonStandardParameter",
        "H235NonStandardParameter",
        &[],
    ),
];

fn fix_unique_names(texts: &mut Texts, changes: &mut Vec<String>) {
    for (module, old, new, importers) in RENAMES {
        for file in std::iter::once(module).chain(importers.iter()) {
            let text = texts.get_mut(file).expect("known module");
            let n = rename_reference(text, old, new);
            assert!(n > 0, "{old} not found in {file}");
            changes.push(format!("{file}: `{old}` -> `{new}` ({n} occurrence(s))"));
        }
    }
    // After the renames no type name may be defined twice.
    let mut seen = BTreeMap::new();
    for (file, text) in texts.iter() {
        for name in type_assignments(text) {
            if let Some(other) = seen.insert(name.clone(), *file) {
                panic!("type {name} is defined in both {other} and {file}");
            }
        }
    }
}

/// Replaces every occurrence of the ASN.1 reference `old` (delimited as ASN.1 delimits names:
/// letters, digits and single hyphens belong to the name) by `new`. Returns the count.
fn rename_reference(text: &mut String, old: &str, new: &str) -> usize {
    let bytes = text.as_bytes();
    let is_name_char = |b: u8| b.is_ascii_alphanumeric();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut n = 0;
    for (at, _) in text.match_indices(old) {
        let end = at + old.len();
        let before_ok = at == 0
            || !(is_name_char(bytes[at - 1])
                || (bytes[at - 1] == b'-' && at >= 2 && is_name_char(bytes[at - 2])));
        let after_ok = end == bytes.len()
            || !(is_name_char(bytes[end])
                || (bytes[end] == b'-' && end + 1 < bytes.len() && is_name_char(bytes[end + 1])));
        if before_ok && after_ok {
            out.push_str(&text[last..at]);
            out.push_str(new);
            last = end;
            n += 1;
        }
    }
    out.push_str(&text[last..]);
    *text = out;
    n
}

/// The names of the type assignments (`Name ::=` and `Name{Param} ::=`) of a module.
fn type_assignments(text: &str) -> Vec<String> {
    let toks = tokenize(text);
    let mut names = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.text != "::=" || i == 0 {
            continue;
        }
        // Skip a parameter list `{...}` before `::=`.
        let mut j = i - 1;
        if toks[j].text == "}" {
            while j > 0 && toks[j].text != "{" {
                j -= 1;
            }
            j = j.saturating_sub(1);
        }
        let name = toks[j].text;
        if name.starts_with(|c: char| c.is_ascii_uppercase()) && name != "TAGS" {
            names.push(name.to_string());
        }
    }
    names
}

// ---------------------------------------------------------------------------------------------
// A small ASN.1 tokenizer: enough to find components, extension markers and constraints.

#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

fn tokenize(src: &str) -> Vec<Tok<'_>> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == 0x1e {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            // A comment ends at the end of the line or at the next `--`.
            i += 2;
            while i < b.len() && b[i] != b'\n' && !b[i..].starts_with(b"--") {
                i += 1;
            }
            if b[i..].starts_with(b"--") {
                i += 2;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            toks.push(Tok {
                text: &src[start..i],
                start,
                end: i,
            });
        } else if c.is_ascii_alphanumeric() || c == b'&' {
            let start = i;
            i += 1;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || (b[i] == b'-' && i + 1 < b.len() && b[i + 1] != b'-'))
            {
                i += 1;
            }
            toks.push(Tok {
                text: &src[start..i],
                start,
                end: i,
            });
        } else {
            let start = i;
            let len = if b[i..].starts_with(b"::=") || b[i..].starts_with(b"...") {
                3
            } else if b[i..].starts_with(b"..")
                || b[i..].starts_with(b"[[")
                || b[i..].starts_with(b"]]")
            {
                2
            } else {
                1
            };
            i += len;
            toks.push(Tok {
                text: &src[start..i],
                start,
                end: i,
            });
        }
    }
    toks
}

/// A component of a SEQUENCE body or an alternative of a CHOICE body.
#[derive(Debug)]
struct Component {
    /// `Type.component.component` path for the report.
    path: String,
    /// Whether it is a CHOICE alternative (else a SEQUENCE component).
    alternative: bool,
    /// Index of the first and one past the last token of the component.
    first: usize,
    last: usize,
    /// Whether the component comes after the (first) extension marker.
    extension: bool,
}

/// Finds every component of every SEQUENCE and CHOICE body in a module, nested ones included.
fn components(toks: &[Tok]) -> Vec<Component> {
    // Where each assignment starts: its name (or parameterized name) before `::=`.
    let mut starts = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.text == "::=" && i > 0 {
            let mut j = i - 1;
            if toks[j].text == "}" {
                while toks[j].text != "{" {
                    j -= 1;
                }
                j -= 1;
            }
            starts.push((j, i));
        }
    }
    let mut out = Vec::new();
    for (n, &(name, assign)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(toks.len(), |&(next, _)| next);
        walk_type(toks, assign + 1, end, toks[name].text.to_string(), &mut out);
    }
    out
}

/// Scans tokens `from..to` for `SEQUENCE {` and `CHOICE {` bodies and records their components.
fn walk_type(toks: &[Tok], from: usize, to: usize, path: String, out: &mut Vec<Component>) {
    let mut i = from;
    while i < to {
        let t = toks[i].text;
        if (t == "SEQUENCE" || t == "CHOICE") && i + 1 < to && toks[i + 1].text == "{" {
            let close = matching(toks, i + 1);
            body(toks, i + 2, close, &path, t == "CHOICE", out);
            i = close + 1;
        } else if t == "{" || t == "(" {
            // Constraints, object identifiers, WITH COMPONENTS, parameter lists: no components.
            i = matching(toks, i) + 1;
        } else {
            i += 1;
        }
    }
}

/// Index of the bracket closing the one at `open`.
fn matching(toks: &[Tok], open: usize) -> usize {
    let mut d = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.text {
            "{" | "(" => d += 1,
            "}" | ")" => {
                d -= 1;
                if d == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced brackets after token {open}");
}

/// Records the components of the SEQUENCE or CHOICE body `from..close` and walks their types.
fn body(
    toks: &[Tok],
    from: usize,
    close: usize,
    path: &str,
    choice: bool,
    out: &mut Vec<Component>,
) {
    let mut markers = 0;
    let mut k = from;
    let mut start = k;
    while k <= close {
        if k == close || toks[k].text == "," {
            if start < k {
                if toks[start].text == "..." {
                    assert_eq!(k - start, 1, "exception specification in {path}");
                    markers += 1;
                } else if toks[start].text == "[[" || toks[start].text == "COMPONENTS" {
                    panic!("extension groups and COMPONENTS OF are not handled ({path})");
                } else {
                    let sub = format!("{path}.{}", toks[start].text);
                    out.push(Component {
                        path: sub.clone(),
                        alternative: choice,
                        first: start,
                        last: k,
                        extension: markers == 1,
                    });
                    walk_type(toks, start + 1, k, sub, out);
                }
            }
            start = k + 1;
            k += 1;
        } else if toks[k].text == "{" || toks[k].text == "(" {
            k = matching(toks, k) + 1;
        } else {
            k += 1;
        }
    }
}

/// Whether the component has `OPTIONAL` or `DEFAULT` at its own level (not inside brackets).
fn has_presence_keyword(toks: &[Tok], c: &Component) -> bool {
    let mut d = 0i32;
    for t in &toks[c.first..c.last] {
        match t.text {
            "{" | "(" => d += 1,
            "}" | ")" => d -= 1,
            "OPTIONAL" | "DEFAULT" if d == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Inserts strings at byte offsets (given in any order) into `text`.
fn insert_all(text: &mut String, mut inserts: Vec<(usize, String)>) {
    inserts.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    for (at, s) in inserts {
        text.insert_str(at, &s);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. OPTIONAL extension additions

fn fix_optional_extension_additions(texts: &mut Texts, changes: &mut Vec<String>) {
    for (file, text) in texts.iter_mut() {
        let toks = tokenize(text);
        let mut inserts = Vec::new();
        for c in components(&toks) {
            if c.extension && !c.alternative && !has_presence_keyword(&toks, &c) {
                inserts.push((toks[c.last - 1].end, " OPTIONAL".to_string()));
                changes.push(format!("{file}: `{}`", c.path));
            }
        }
        insert_all(text, inserts);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Constraints on extension additions

fn fix_extension_constraints(texts: &mut Texts, changes: &mut Vec<String>) {
    // Every module's `Name ::= BuiltinType (constraint)` definitions, with imports resolved by
    // name (all names are unique after fix 1).
    let mut constrained: BTreeMap<String, String> = BTreeMap::new();
    for text in texts.values() {
        let toks = tokenize(text);
        for (i, t) in toks.iter().enumerate() {
            if t.text != "::=" || i == 0 || toks[i - 1].text == "}" {
                continue;
            }
            let name = toks[i - 1].text;
            let ty_len = match (
                toks.get(i + 1).map(|t| t.text),
                toks.get(i + 2).map(|t| t.text),
            ) {
                (
                    Some(
                        "INTEGER" | "BMPString" | "IA5String" | "NumericString" | "PrintableString"
                        | "VisibleString" | "GeneralString" | "UTF8String",
                    ),
                    _,
                ) => 1,
                (Some("OCTET" | "BIT"), Some("STRING")) => 2,
                _ => continue,
            };
            let open = i + 1 + ty_len;
            if toks.get(open).map(|t| t.text) != Some("(") {
                continue;
            }
            let close = matching(&toks, open);
            constrained.insert(
                name.to_string(),
                text[toks[open].start..toks[close].end].to_string(),
            );
        }
    }

    for (file, text) in texts.iter_mut() {
        let toks = tokenize(text);
        let mut inserts = Vec::new();
        for c in components(&toks) {
            if !c.extension {
                continue;
            }
            // `identifier TypeReference [OPTIONAL]`: a bare reference to a constrained type (a
            // SEQUENCE component or a CHOICE alternative).
            let ty = &toks[c.first + 1];
            let rest: Vec<&str> = toks[c.first + 2..c.last].iter().map(|t| t.text).collect();
            if !(rest.is_empty() || rest == ["OPTIONAL"]) {
                continue;
            }
            if let Some(constraint) = constrained.get(ty.text) {
                let constraint = constraint.split_whitespace().collect::<Vec<_>>().join(" ");
                inserts.push((ty.end, format!(" {constraint}")));
                changes.push(format!("{file}: `{}` {} {constraint}", c.path, ty.text));
            }
        }
        insert_all(text, inserts);
    }
}
