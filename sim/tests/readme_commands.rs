//! Every `mta-lab …` command line quoted in README.md and `corpora/**/README.md` is accepted by
//! the CLI parser: documentation syntax (`[optional]`, `a|b`, `X…`, placeholders such as `B` or
//! `FILE`) is turned into one concrete invocation, which `mta-lab … --help` must accept (clap checks
//! subcommands, flag names and typed values before it prints help).
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// README.md and every README.md under corpora/.
fn documents() -> Vec<PathBuf> {
    let mut v = vec![repo().join("README.md")];
    let mut dirs = vec![repo().join("corpora")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.file_name().is_some_and(|n| n == "README.md") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// The quoted command lines of a markdown text: indented code lines and inline code spans (which
/// may wrap) that contain `mta-lab `, from that word on.
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(code) = line.strip_prefix("    ") {
            let code = code.split(" # ").next().unwrap_or(code);
            out.extend(command_in(code));
        }
    }
    let mut rest = text;
    while let Some(i) = rest.find('`') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('`') else { break };
        out.extend(command_in(&after[..j].replace('\n', " ")));
        rest = &after[j + 1..];
    }
    out
}

/// The command in a code fragment: one that starts with `mta-lab `, or pipes into it
/// (`printf … | mta-lab ber dump --hex -`), or runs it through cargo (`cargo run -p mta-lab -- …`).
fn command_in(code: &str) -> Option<String> {
    let code = code.trim();
    let after = if let Some(rest) = code.strip_prefix("mta-lab ") {
        rest
    } else if let Some(i) = code.find("| mta-lab ") {
        &code[i + "| mta-lab ".len()..]
    } else if let Some(i) = code.find("-p mta-lab -- ") {
        &code[i + "-p mta-lab -- ".len()..]
    } else {
        return None;
    };
    Some(after.trim().to_string())
}

/// Placeholders of the documentation syntax and a valid value for each.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("B", "5.5"),
    ("S", "10"),
    ("N", "1"),
    ("D", "2026-01-01"),
    ("Q", "Q182619"),
    ("F", "x.json"),
    ("W", "standard"),
    ("T", "driver_events"),
    ("P", "pw"),
    ("IP:PORT", "127.0.0.1:10102"),
    ("HOST:PORT", "127.0.0.1:10102"),
    ("IP", "127.0.0.2"),
    ("NAME=VALUE", "tcp_control_blocks_inbound=500"),
];

/// One concrete invocation: optional groups kept, the first of `a|b` alternatives, the first
/// branch of a `( … | … )` choice, ellipses dropped, placeholders filled.
fn concrete(doc: &str) -> Vec<String> {
    let mut words = Vec::new();
    for w in doc.split_whitespace() {
        if ["|", "&", "&&", "||", ";"].contains(&w) {
            break;
        }
        let w: String = w
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | '(' | ')' | '…'))
            .collect();
        // `B,…` (a comma-separated list): one element.
        let w = w
            .split('|')
            .next()
            .unwrap_or("")
            .trim_end_matches(',')
            .to_string();
        if w.is_empty() {
            continue;
        }
        let filled = PLACEHOLDERS
            .iter()
            .find(|(p, _)| *p == w)
            .map_or(w, |(_, v)| (*v).to_string());
        words.push(filled);
    }
    words
}

#[test]
fn every_documented_command_line_is_accepted() {
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for line in quoted(&text) {
            let words = concrete(&line);
            if words.is_empty() {
                continue;
            }
            let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
                .args(&words)
                .arg("--help")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: `mta-lab {line}` (run as `mta-lab {} --help`) is rejected:\n{}",
                doc.display(),
                words.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 40,
        "only {checked} documented command lines found"
    );
}

#[test]
fn the_syntax_normaliser_fills_placeholders_and_takes_first_alternatives() {
    assert_eq!(
        concrete("chart FINDING.toml|TRACE.jsonl -o run.svg|run.html [--layer tpkt|cotp]"),
        ["chart", "FINDING.toml", "-o", "run.svg", "--layer", "tpkt"]
    );
    assert_eq!(
        concrete("serve --build B --listen IP:PORT… [--set NAME=VALUE]"),
        [
            "serve",
            "--build",
            "5.5",
            "--listen",
            "127.0.0.1:10102",
            "--set",
            "tcp_control_blocks_inbound=500"
        ]
    );
    assert_eq!(
        concrete("diff --builds 5.5-sp1,5.5-sp2 (--finding F | --world W)"),
        ["diff", "--builds", "5.5-sp1,5.5-sp2", "--finding", "x.json"]
    );
    assert_eq!(
        quoted(
            "text `mta-lab replay FINDING --until\n9301|2.5s` and\n\n    mta-lab builds   # the table\n"
        ),
        ["builds", "replay FINDING --until 9301|2.5s"]
    );
    // A deliberately wrong flag is rejected (the test can fail).
    let out = Command::new(env!("CARGO_BIN_EXE_mta-lab"))
        .args(concrete("builds --no-such-flag"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(!out.status.success());
}
