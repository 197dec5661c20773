//! Byte-exactness against an independent aligned-PER codec: pycrate 0.8.1 (its compiled H.225.0
//! v7 / H.235 / H.245 v15 modules). `tests/pycrate/crosscheck.py` encodes the same values
//! (`tests/pycrate/values.py`, from which `src/samples/values.rs` is written).
//!
//! For every sample:
//! - pycrate's encoding equals ours, and we decode it back to the sample and re-encode the same
//!   bytes;
//! - pycrate decodes our encoding to the same value.
//!
//! pycrate 0.8.1's encoder has a padding bug before some extension additions (it writes one
//! octet of padding too many; its own decoder then rejects what it wrote). For those samples
//! the first check cannot hold; the test then requires that pycrate cannot decode its own
//! output, that it decodes ours to the value, and that the samples are exactly the expected
//! ones, so a change on either side shows.
//!
//! The test needs python3 with pycrate 0.8.1 (`scripts/test` installs it). It fails when pycrate
//! is missing; it never skips.

mod common;

use causeway_h323_asn1::samples;
use common::{hex, run_pycrate, unhex};

/// Samples on which pycrate 0.8.1 writes a wrong encoding (see the module doc).
const PYCRATE_ENCODER_BUG: &[&str] = &[
    "ras_rcf",
    "ras_arq",
    "ras_acf",
    "ras_drq",
    "ras_irq",
    "ras_rai",
    "uu_call_proceeding",
    "uu_release_complete",
    "uu_progress",
];

#[test]
fn pycrate_agrees_byte_for_byte() {
    let all = samples::all();
    let mut input = String::new();
    let mut ours = Vec::new();
    for s in &all {
        let bytes = s
            .value
            .encode()
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        input.push_str(&format!("{} {}\n", s.name, hex(&bytes)));
        ours.push(bytes);
    }
    if let Ok(path) = std::env::var("H323_ASN1_DUMP") {
        // `NAME HEX` of every sample, for checking with other tools (tshark).
        std::fs::write(path, &input).unwrap();
    }
    let output = run_pycrate(&[], &input);
    let mut lines = output.lines();

    let mut failures = Vec::new();
    let mut exact = Vec::new();
    let mut pycrate_bug = Vec::new();
    for (sample, ours) in all.iter().zip(&ours) {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("no result for {}", sample.name));
        let mut f = line.splitn(5, ' ');
        let (name, theirs, self_ok, ours_ok, detail) = (
            f.next().unwrap(),
            f.next().unwrap(),
            f.next().unwrap() == "1",
            f.next().unwrap() == "1",
            f.next().unwrap_or("-"),
        );
        assert_eq!(name, sample.name);
        let mut problems = Vec::new();
        if !ours_ok {
            problems.push(format!(
                "pycrate does not decode our encoding to the value: {detail}"
            ));
        }
        if theirs == hex(ours) {
            // Direction pycrate -> us: decode, compare, re-encode.
            match sample.value.decode_same_type(&unhex(theirs)) {
                Ok(v) if v == sample.value => {
                    if v.encode().unwrap() != *ours {
                        problems.push("re-encoding differs".into());
                    }
                }
                Ok(v) => problems.push(format!("pycrate's bytes decode to {v:?}")),
                Err(e) => problems.push(format!("cannot decode pycrate's bytes: {e}")),
            }
            if !self_ok {
                problems.push(format!("pycrate rejects its own encoding: {detail}"));
            }
            if PYCRATE_ENCODER_BUG.contains(&name) {
                problems.push("listed as a pycrate encoder bug but agrees now".into());
            }
            if problems.is_empty() {
                exact.push(name);
            }
        } else if PYCRATE_ENCODER_BUG.contains(&name) && !self_ok && ours_ok {
            // pycrate's own decoder rejects its output and reads ours: its encoder is wrong.
            // Decoding pycrate's wrong bytes must still fail cleanly, not panic.
            let _ = sample.value.decode_same_type(&unhex(theirs));
            pycrate_bug.push(name);
        } else {
            problems.push(format!(
                "encodings differ\n  ours:    {}\n  pycrate: {theirs}\n  pycrate: {detail}",
                hex(ours)
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    println!(
        "byte-exact with pycrate ({}): {}",
        exact.len(),
        exact.join(" ")
    );
    println!(
        "pycrate encoder bug, pycrate decodes ours to the value ({}): {}",
        pycrate_bug.len(),
        pycrate_bug.join(" ")
    );
    assert!(
        failures.is_empty(),
        "{} sample(s) disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(exact.len() + pycrate_bug.len(), all.len());
}
