//! The house of rooms holds: the `sim/` crates depend on each other only downwards in the layer
//! order world < net < look < campaign < cli, and inside each crate the modules' `crate::…` paths
//! form no cycle. The cli crate stays clap definitions and dispatch (under 400 lines); clippy's
//! `too_many_lines` (threshold 150, clippy.toml) keeps every sim function one a reader can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The `sim/` crates, lowest layer first: (directory under `sim/`, package name).
const LAYERS: &[(&str, &str)] = &[
    ("world", "mta-lab-world"),
    ("net", "mta-lab-net"),
    ("look", "mta-lab-look"),
    ("campaign", "mta-lab-campaign"),
    (".", "mta-lab"),
];

fn sim() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The `mta-lab*` packages a manifest depends on (normal and dev dependencies).
fn lab_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    ["dependencies", "dev-dependencies"]
        .iter()
        .filter_map(|k| doc.get(*k).and_then(|d| d.as_table()))
        .flat_map(|t| t.keys().cloned())
        .filter(|k| k.starts_with("mta-lab"))
        .collect()
}

/// Module name → the crate-local modules its source names through `crate::…` paths (also inside
/// `use crate::{a, b::c}` groups), for every `*.rs` file of `src`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut graph = BTreeMap::new();
    for f in &files {
        let me = f.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).unwrap();
        let mut uses = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let body = &group[..group.find('}').unwrap_or(group.len())];
                body.split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                vec![
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap_or(""),
                ]
            };
            for n in names {
                if n != me && modules.contains(n) {
                    uses.insert(n.to_string());
                }
            }
        }
        graph.insert(me, uses);
    }
    graph
}

/// A cycle of the graph, if it has one (depth-first search).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn sim_crates_depend_only_downwards() {
    let layer: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .map(|(i, (_, p))| (*p, i))
        .collect();
    let mut every = BTreeSet::new();
    for (i, (dir, package)) in LAYERS.iter().enumerate() {
        for dep in lab_dependencies(&sim().join(dir).join("Cargo.toml")) {
            let j = layer
                .get(dep.as_str())
                .unwrap_or_else(|| panic!("{package} depends on {dep}, which has no layer"));
            assert!(
                *j < i,
                "{package} depends on {dep}: against the layer order {LAYERS:?}"
            );
            every.insert(dep);
        }
    }
    assert_eq!(
        every.len(),
        LAYERS.len() - 1,
        "every crate but the cli is used"
    );
}

#[test]
fn no_sim_crate_has_a_module_cycle() {
    for (dir, package) in LAYERS {
        let g = module_graph(&sim().join(dir).join("src"));
        assert!(!g.is_empty(), "{package}: no modules found");
        assert_eq!(cycle(&g), None, "{package}: a module cycle");
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let g = |edges: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            m.entry((*a).into()).or_default().insert((*b).into());
            m.entry((*b).into()).or_default();
        }
        m
    };
    assert_eq!(cycle(&g(&[("a", "b"), ("b", "c")])), None);
    let c = cycle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).unwrap();
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
    let dir = std::env::temp_dir().join(format!("mta-lab-rooms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.rs"), "use crate::{b, c::X};\n").unwrap();
    std::fs::write(dir.join("b.rs"), "fn f() { crate::a::g() }\n").unwrap();
    std::fs::write(dir.join("c.rs"), "").unwrap();
    let found = module_graph(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found["a"], BTreeSet::from(["b".into(), "c".into()]));
    assert!(cycle(&found).is_some(), "a -> b -> a");
}

#[test]
fn the_cli_is_clap_and_dispatch_only() {
    let main = std::fs::read_to_string(sim().join("src/main.rs")).unwrap();
    let lines = main.lines().count();
    assert!(
        lines < 400,
        "sim/src/main.rs has {lines} lines: move the work into a crate"
    );
    for (dir, package) in &LAYERS[..LAYERS.len() - 1] {
        let lib = std::fs::read_to_string(sim().join(dir).join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("#![warn(clippy::too_many_lines)]"),
            "{package} does not enable too_many_lines"
        );
    }
}
