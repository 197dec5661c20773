//! Shared by the tests that talk to pycrate (each test binary uses part of it).
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs `tests/pycrate/crosscheck.py ARGS` with `input` on its standard input and returns its
/// output, after checking the first line names pycrate 0.8.1. Panics (never skips) when Python
/// or pycrate is missing.
pub fn run_pycrate(args: &[&str], input: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pycrate/crosscheck.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {python}: {e}. The pycrate cross-check needs Python 3 with \
                 pycrate 0.8.1: run scripts/test, which installs it"
            )
        });
    // Written from another thread: pycrate answers line by line, and a full output pipe would
    // otherwise block both processes.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        panic!("pycrate is missing. {stderr}");
    }
    assert!(out.status.success(), "crosscheck.py failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (version, rest) = stdout.split_once('\n').unwrap_or((&stdout, ""));
    assert_eq!(
        version, "pycrate 0.8.1",
        "the cross-check is pinned to pycrate 0.8.1"
    );
    rest.to_string()
}
