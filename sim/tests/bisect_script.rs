//! `scripts/bisect.sh` on a toy history (git only, no cargo): a stand-in `mta-lab` reads a `bug`
//! file of the checked-out commit and answers like `mta-lab replay` (signature reproduced, exit 0;
//! NOT reproduced, exit 1; input error, exit 2). The script must name the commit that introduced
//! the finding and the one that removed it (its default GOOD being the finding's lab_commit),
//! skip commits that do not build or cannot replay, refuse to bisect two ends in the same state,
//! replay a copy without the provenance fields, and leave the work tree as it was.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=lab",
            "-c",
            "user.email=lab@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The toy history: (bug, extra file) per commit; returns the commits' hashes.
fn history(repo: &Path) -> Vec<String> {
    let steps: &[(&str, Option<&str>)] = &[
        ("0", None),
        ("0", None),
        ("0", Some("inputerror")), // replay exits 2: skipped
        ("0", None),
        ("1", None),           // introduced
        ("1", Some("broken")), // does not build: skipped
        ("1", None),
        ("0", None), // removed
        ("0", None),
    ];
    git(repo, &["init", "-q", "-b", "main"]);
    let mut commits = Vec::new();
    for (i, (bug, extra)) in steps.iter().enumerate() {
        std::fs::write(repo.join("bug"), bug).unwrap();
        for f in ["inputerror", "broken"] {
            let _ = std::fs::remove_file(repo.join(f));
        }
        if let Some(f) = extra {
            std::fs::write(repo.join(f), "").unwrap();
        }
        git(repo, &["add", "-A", "."]);
        git(
            repo,
            &["commit", "-q", "--allow-empty", "-m", &format!("step {i}")],
        );
        commits.push(git(repo, &["rev-parse", "HEAD"]));
    }
    commits
}

fn bisect(repo: &Path, fake: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo.join("scripts/bisect.sh"))
        .args(args)
        .current_dir(repo)
        .env("MTA_LAB_BISECT_BUILD", "test ! -e broken")
        .env("MTA_LAB_BISECT_BIN", fake)
        .output()
        .expect("run scripts/bisect.sh")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn bisect_names_the_commits_that_introduced_and_removed_a_finding() {
    let root: PathBuf = std::env::temp_dir().join(format!("mta-lab-bisect-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let repo = root.join("toy");
    std::fs::create_dir_all(repo.join("scripts")).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bisect.sh");
    std::fs::copy(&script, repo.join("scripts/bisect.sh")).unwrap();
    // The stand-in replay, run in the clone at each step.
    let fake = root.join("fake-mta-lab");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\n\
         [ \"$1\" = replay ] || exit 2\n\
         grep -q -e lab_commit -e rustc_version \"$2\" && { echo 'error: unknown field' >&2; exit 2; }\n\
         [ -e inputerror ] && { echo 'error: bad input' >&2; exit 2; }\n\
         if [ \"$(cat bug)\" = 1 ]; then echo 'trace 0 (bit-identical), signature reproduced'; exit 0; fi\n\
         echo 'trace 0 (DIFFERENT), signature NOT reproduced'; exit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let c = history(&repo);
    let finding = root.join("finding.toml");

    // Introduced: GOOD and BAD given.
    std::fs::write(&finding, "seed = 1\n").unwrap();
    let f = finding.to_str().unwrap();
    let o = bisect(&repo, &fake, &[f, &c[0], &c[6]]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "first commit where the finding is present: {} (it introduced it)",
            c[4]
        )),
        "{}",
        text(&o)
    );

    // Removed: GOOD defaults to the finding's lab_commit, BAD to HEAD; the copy replayed has no
    // provenance fields (the stand-in refuses them, as binaries older than them do).
    std::fs::write(
        &finding,
        format!(
            "seed = 1\nlab_commit = \"{}\"\nrustc_version = \"rustc 1.88.0\"\n",
            c[4]
        ),
    )
    .unwrap();
    let o = bisect(&repo, &fake, &[f]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "first commit where the finding is absent: {} (it removed it)",
            c[7]
        )),
        "{}",
        text(&o)
    );

    // Both ends the same: nothing to bisect (exit 1); bad arguments: exit 2.
    let o = bisect(&repo, &fake, &[f, &c[0], &c[1]]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("nothing to bisect: the finding is absent at both GOOD and BAD"));
    let o = bisect(&repo, &fake, &[root.join("missing.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    std::fs::write(&finding, "seed = 1\n").unwrap();
    let o = bisect(&repo, &fake, &[f]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("records no lab commit"), "{}", text(&o));
    let o = bisect(&repo, &fake, &[f, &c[6], &c[0]]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // The work tree is where it was: same HEAD, on its branch, no bisect going on.
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), c[8]);
    assert_eq!(git(&repo, &["symbolic-ref", "--short", "HEAD"]), "main");
    assert!(!repo.join(".git/BISECT_LOG").exists());
    let _ = std::fs::remove_dir_all(&root);
}
