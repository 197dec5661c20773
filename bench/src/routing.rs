//! Routing decisions per second of the pure core: a dial plan of 100 pre-search transforms
//! and 2,000 search rules (every pattern type, behaviours, 400 neighbor zones), planned for a
//! mix of aliases that match early, late and nowhere.
//!
//! `cargo run --release -p causeway-bench --bin routing [DECISIONS]`

use causeway_config::{Snapshot, Values};
use causeway_routing::search::plan;
use causeway_routing::{Dialplan, Protocol, SearchRequest};
use std::time::Instant;

fn dialplan() -> Dialplan {
    let mut v = Values::new();
    let mut set = |k: String, val: String| {
        v.insert(k, val);
    };
    set("SIP Domain 1 Name".into(), "example.com".into());
    for z in 1..=400 {
        set(format!("Zones Zone {z} Name"), format!("zone{z}"));
        set(format!("Zones Zone {z} Type"), "Neighbor".into());
    }
    for t in 1..=100 {
        let p = format!("Transform {t}");
        set(format!("{p} Priority"), t.to_string());
        set(format!("{p} State"), "Enabled".into());
        let (kind, pattern, behavior, replace) = match t % 4 {
            0 => ("Prefix", format!("9{t:03}"), "Strip", String::new()),
            1 => (
                "Suffix",
                format!("@old{t}.example"),
                "Replace",
                "@example.com".into(),
            ),
            2 => (
                "Exact",
                format!("reception{t}"),
                "Replace",
                format!("desk{t}@example.com"),
            ),
            _ => (
                "Regex",
                format!("({t}[0-9]{{4}})"),
                "Replace",
                r"\1@example.com".into(),
            ),
        };
        set(format!("{p} Pattern Type"), kind.into());
        set(format!("{p} Pattern String"), pattern);
        set(format!("{p} Pattern Behavior"), behavior.into());
        set(format!("{p} Pattern Replace"), replace);
    }
    for r in 1..=2000 {
        let p = format!("Zones Policy SearchRules Rule {r}");
        set(format!("{p} Name"), format!("rule {r}"));
        set(format!("{p} Priority"), (r / 4 + 1).to_string());
        set(format!("{p} Target Type"), "Zone".into());
        set(format!("{p} Target Name"), format!("zone{}", r % 400 + 1));
        set(format!("{p} Mode"), "AliasPatternMatch".into());
        let (kind, pattern, behavior, replace) = match r % 4 {
            0 => ("Prefix", format!("{r:04}"), "Strip", String::new()),
            1 => (
                "Suffix",
                format!("@site{r}.example.com"),
                "Leave",
                String::new(),
            ),
            2 => (
                "Exact",
                format!("room{r}@example.com"),
                "Leave",
                String::new(),
            ),
            _ => (
                "Regex",
                format!(r"(.+)@branch{r}\.example\.com"),
                "Replace",
                r"\1".into(),
            ),
        };
        set(format!("{p} Pattern Type"), kind.into());
        set(format!("{p} Pattern String"), pattern);
        set(format!("{p} Pattern Behavior"), behavior.into());
        set(format!("{p} Pattern Replace"), replace);
        if r % 50 == 0 {
            set(format!("{p} Progress"), "Stop".into());
        }
    }
    let dp = Dialplan::from_snapshot(&Snapshot::from_values(v));
    assert!(dp.problems.is_empty(), "{:?}", dp.problems);
    assert_eq!((dp.transforms.len(), dp.rules.len()), (100, 2000));
    dp
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let t = Instant::now();
    let dp = dialplan();
    let compile = t.elapsed();
    let aliases = [
        "alice@site5.example.com",    // an early Leave rule
        "bob@branch1999.example.com", // a late Regex rule
        "room1202@example.com",       // an Exact rule in the middle
        "nobody@nowhere.example",     // no rule
        "90041234",                   // a transform, then Prefix rules
        "2123456",                    // a Regex transform
    ];
    let mut queries = 0usize;
    let t = Instant::now();
    for i in 0..n {
        let alias = aliases[i % aliases.len()];
        let req = SearchRequest::new(alias, Protocol::Sip);
        let p = plan(&dp, &req, alias, &mut Vec::new());
        queries += p.groups.iter().map(|g| g.queries.len()).sum::<usize>();
    }
    let took = t.elapsed();
    println!("dial plan: 100 transforms, 2000 search rules, 400 zones; compiled in {compile:?}");
    println!(
        "{n} decisions in {took:?}: {:.0} decisions/s, {:.1} us each ({queries} queries planned)",
        n as f64 / took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n as f64
    );
}
